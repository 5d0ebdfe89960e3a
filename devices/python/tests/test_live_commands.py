"""Commands and desired state against a live hub (the built `telehub` binary):
an operator's command reaches the device and runs once, even when the device
is killed mid-way and restarted; desired state is applied once and the hub's
state shows it applied."""
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import CLIENT_DIR, TsClock, run
from telehub_device import INTERRUPTED, NO_HANDLER, TelehubDevice

FINAL = {"succeeded", "failed", "expired", "canceled"}


def client(hub, token, path, **kwargs):
    kwargs.setdefault("backoff_base", 0.1)
    kwargs.setdefault("backoff_cap", 1.0)
    return TelehubDevice(hub.ws_url, token, str(path), **kwargs)


def send_command(hub, control, device, name, args=None, wait_ms=None):
    query = f"?wait={wait_ms}" if wait_ms is not None else ""
    status, body = hub.api("POST", f"/v1/devices/{device}/commands{query}", control,
                           {"name": name, "args": args or {}})
    assert status in (200, 202), (status, body)
    return body


def wait_for(predicate, timeout=15.0, what="the condition"):
    """Polls `predicate` until it returns something truthy; returns that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def command_status(hub, control, command_id):
    status, body = hub.api("GET", f"/v1/commands/{command_id}", control)
    assert status == 200, body
    return body


def test_a_command_reaches_the_device_runs_once_and_succeeds_with_its_result(hub, tmp_path):
    token, control = hub.device_token("pump-1"), hub.control_token()
    calls = []

    async def scenario():
        async with client(hub, token, tmp_path / "dev.sqlite") as device:
            @device.on_command("set-interval")
            async def set_interval(args):
                calls.append(args)
                return {"interval": args["seconds"]}

            @device.on_command("calibrate")
            def calibrate(args):
                raise RuntimeError("sensor busy")

            while device.state != "connected":
                await asyncio.sleep(0.02)
            done = await asyncio.to_thread(send_command, hub, control, "pump-1", "set-interval", {"seconds": 5}, 10000)
            failed = await asyncio.to_thread(send_command, hub, control, "pump-1", "calibrate", {}, 10000)
            unknown = await asyncio.to_thread(send_command, hub, control, "pump-1", "self-destruct", {}, 10000)
            assert await device.flush(10)
            return done, failed, unknown, device.counters, device.buffer.next_seq

    done, failed, unknown, counters, next_seq = run(scenario(), 40)
    assert done["status"] == "succeeded" and done["result"] == {"interval": 5}, done
    assert done["deliveredAt"] is not None and done["attempts"] == 1
    assert calls == [{"seconds": 5}]
    assert failed["status"] == "failed" and failed["message"] == "sensor busy", failed
    assert unknown["status"] == "failed" and unknown["message"] == NO_HANDLER.format(name="self-destruct"), unknown
    assert counters.commands_run == 2 and counters.pending_control == 0
    # The results went with seqs from the device's one sequence, and the hub has them all.
    assert hub.last_seq("pump-1") == next_seq - 1 >= 3


def test_a_command_queued_while_the_device_was_away_runs_when_it_connects(hub, tmp_path):
    token, control = hub.device_token("sleepy"), hub.control_token()
    queued = send_command(hub, control, "sleepy", "wake", {"why": "test"})
    assert queued["status"] == "queued"

    async def scenario():
        async with client(hub, token, tmp_path / "dev.sqlite") as device:
            device.on_command("wake", lambda args: {"woke": args["why"]})
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                answer = await asyncio.to_thread(command_status, hub, control, queued["id"])
                if answer["status"] in FINAL:
                    return answer, device.counters.commands_run
                await asyncio.sleep(0.05)
            raise AssertionError("the command never finished")

    answer, runs = run(scenario(), 30)
    assert answer["status"] == "succeeded" and answer["result"] == {"woke": "test"} and runs == 1


# A device in a process of its own, so the test can SIGKILL it. Its handler
# writes a line to RUNS each time it starts; MODE picks where it dies.
DEVICE_SCRIPT = """
import asyncio, os, signal, sys
sys.path.insert(0, {client_dir!r})
from telehub_device import ReadingBuffer, TelehubDevice

url, token, buffer, runs, mode = sys.argv[1:6]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "die-after-result":          # the result is committed, not yet sent
    finish = ReadingBuffer.finish_command
    ReadingBuffer.finish_command = lambda self, *a, **k: (finish(self, *a, **k), die())
if mode == "die-before-ack":            # the command is recorded as started, not yet acknowledged
    begin = ReadingBuffer.begin_command
    ReadingBuffer.begin_command = lambda self, *a, **k: begin(self, *a, **k) and die()

async def main():
    device = TelehubDevice(url, token, buffer, backoff_base=0.1, backoff_cap=1.0)

    @device.on_command("dose")
    async def dose(args):
        with open(runs, "a") as log:
            log.write("ran\\n")
        if mode == "hang":                  # dies (SIGKILL from the test) while it runs
            await asyncio.sleep(3600)
        return {{"dosed": args["ml"]}}

    async with device:
        await asyncio.sleep(3600)

asyncio.run(main())
"""


class DeviceProcess:
    def __init__(self, hub, token, tmp_path: Path):
        self.script = tmp_path / "device.py"
        self.script.write_text(DEVICE_SCRIPT.format(client_dir=str(CLIENT_DIR)))
        self.args = [hub.ws_url, token, str(tmp_path / "dev.sqlite"), str(tmp_path / "runs.txt")]
        self.runs_file = tmp_path / "runs.txt"
        self.proc = None

    def start(self, mode):
        self.proc = subprocess.Popen([sys.executable, str(self.script), *self.args, mode],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def runs(self) -> int:
        return len(self.runs_file.read_text().splitlines()) if self.runs_file.exists() else 0

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait(10)


def killed_and_restarted(hub, tmp_path, mode, status_before_restart):
    """Runs the scenario: the device dies at `mode`, the hub's view of the
    command then is `status_before_restart`, and a restarted device (same
    buffer) brings the command to a final status. Returns (final command, runs)."""
    token, control = hub.device_token("doser"), hub.control_token()
    device = DeviceProcess(hub, token, tmp_path).start(mode)
    try:
        sent = send_command(hub, control, "doser", "dose", {"ml": 5})
        if mode == "hang":
            wait_for(lambda: device.runs() == 1, what="the handler to start")
            wait_for(lambda: command_status(hub, control, sent["id"])["status"] == "delivered", what="delivered")
            device.kill()
        else:
            assert device.proc.wait(15) == -signal.SIGKILL, device.proc.stderr.read().decode()
        assert command_status(hub, control, sent["id"])["status"] == status_before_restart
        device.start("normal")
        final = wait_for(lambda: (c := command_status(hub, control, sent["id"]))["status"] in FINAL and c,
                         what="a final status")
        time.sleep(0.5)  # time enough for a second run, were there one
        return final, device.runs()
    finally:
        device.kill()


def test_a_device_killed_while_its_handler_runs_reports_it_interrupted_and_never_runs_it_again(hub, tmp_path):
    final, runs = killed_and_restarted(hub, tmp_path, "hang", "delivered")
    assert final["status"] == "failed" and final["message"] == INTERRUPTED, final
    assert runs == 1


def test_a_device_killed_between_its_result_and_the_hubs_ack_sends_the_result_after_restart(hub, tmp_path):
    final, runs = killed_and_restarted(hub, tmp_path, "die-after-result", "delivered")
    assert final["status"] == "succeeded" and final["result"] == {"dosed": 5}, final
    assert runs == 1


def test_a_device_killed_before_its_ack_is_sent_the_command_again_and_does_not_run_it(hub, tmp_path):
    final, runs = killed_and_restarted(hub, tmp_path, "die-before-ack", "sent")
    assert final["status"] == "failed" and final["message"] == INTERRUPTED, final
    assert final["attempts"] == 2  # the hub sent it again; the device knew it
    assert runs == 0


def test_desired_state_is_applied_once_and_the_hub_shows_it_applied(hub, tmp_path):
    token, control = hub.device_token("thermostat"), hub.control_token()
    applied = []

    def state():
        status, body = hub.api("GET", "/v1/devices/thermostat/state", control)
        assert status == 200, body
        return body

    def put_desired(desired):
        status, body = hub.api("PUT", "/v1/devices/thermostat/state/desired", control, desired)
        assert status == 200, body
        return body

    first = put_desired({"interval": 5, "mode": "eco"})   # set while the device is away

    async def life():
        async with client(hub, token, tmp_path / "dev.sqlite") as device:
            @device.on_desired
            def apply(desired, version):
                applied.append(version)

            device.report({"firmware": "1.4"})
            await asyncio.to_thread(wait_for, lambda: state()["reported"].get("applied") == first["version"])
            second = await asyncio.to_thread(put_desired, {"interval": 7, "mode": "eco"})
            await asyncio.to_thread(wait_for, lambda: state()["reported"].get("applied") == second["version"])
            assert await device.flush(10)
            return second

    second = run(life(), 40)
    shown = state()
    assert applied == [first["version"], second["version"]]
    assert shown["desired"]["version"] == second["version"] == shown["reported"]["applied"]
    assert shown["delta"] == {}
    assert shown["reported"]["state"] == {"interval": 7, "mode": "eco", "firmware": "1.4"}

    async def after_restart():  # hello brings the same desired version again: not applied again
        async with client(hub, token, tmp_path / "dev.sqlite") as device:
            device.on_desired(lambda desired, version: applied.append(version))
            while device.state != "connected":
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.5)

    run(after_restart(), 20)
    assert applied == [first["version"], second["version"]]


def test_the_demo_answers_set_interval_and_desired_interval(hub, tmp_path):
    token, control = hub.device_token("demo"), hub.control_token()
    demo = subprocess.Popen(
        [sys.executable, "-m", "telehub_device", "--url", hub.url, "--buffer", str(tmp_path / "demo.sqlite"),
         "--demo", "--status-interval", "60"],
        cwd=CLIENT_DIR, env={**os.environ, "TELEHUB_TOKEN": token},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: hub.last_seq("demo") >= 1, what="the demo's first reading")
        done = send_command(hub, control, "demo", "set-interval", {"seconds": 0.2}, 10000)
        assert done["status"] == "succeeded" and done["result"] == {"interval": 0.2}, done
        # At 0.2 s, readings come five times as fast as at the default 1 s.
        before = len(hub.stored("demo"))
        time.sleep(2)
        assert len(hub.stored("demo")) - before >= 6
        refused = send_command(hub, control, "demo", "set-interval", {"seconds": 0}, 10000)
        assert refused["status"] == "failed" and "0.1 to 3600" in refused["message"], refused
        status, desired = hub.api("PUT", "/v1/devices/demo/state/desired", control, {"interval": 2})
        assert status == 200
        shown = wait_for(lambda: (s := hub.api("GET", "/v1/devices/demo/state", control)[1])["reported"].get(
            "applied") == desired["version"] and s, what="the desired interval applied")
        assert shown["reported"]["state"] == {"interval": 2} and shown["delta"] == {}
    finally:
        demo.send_signal(signal.SIGTERM)
        _, stderr = demo.communicate(timeout=15)
    assert "Traceback" not in stderr.decode(), stderr.decode()


def test_results_interleave_with_a_rate_limited_backlog_without_loss_or_duplicates(hub_factory, tmp_path):
    """Results take seqs among the readings' while the hub refuses a backlog
    for its rate limit (go-back-N): every reading is stored once, every
    command answered once, and the hub has every seq the device used."""
    hub = hub_factory("--rate-limit", "500", "--rate-burst", "200", "--max-batch", "100").start()
    token, control = hub.device_token("busy"), hub.control_token()
    ts = TsClock()
    stamps = [ts() for _ in range(1500)]

    async def scenario():
        async with client(hub, token, tmp_path / "dev.sqlite", batch_size=100, backfill_rate=None) as device:
            device.on_command("ping", lambda args: {"n": args["n"]})
            device.send_many([({"x": i}, stamp) for i, stamp in enumerate(stamps)])
            commands = []
            for n in range(5):
                commands.append(await asyncio.to_thread(send_command, hub, control, "busy", "ping", {"n": n}))
                await asyncio.sleep(0.2)
            assert await device.flush(30)
            finals = [await asyncio.to_thread(command_status, hub, control, c["id"]) for c in commands]
            return finals, device.counters, device.buffer.next_seq, device.last_error

    finals, counters, next_seq, last_error = run(scenario(), 60)
    assert [(c["status"], c["result"]) for c in finals] == [("succeeded", {"n": n}) for n in range(5)]
    assert counters.commands_run == 5 and counters.acked == 1500 and counters.rejected == 0
    assert last_error and last_error["code"] == "rate_limited"
    assert hub.metric("telehub_values_ingested_total") == 1500
    assert hub.last_seq("busy") == next_seq - 1
