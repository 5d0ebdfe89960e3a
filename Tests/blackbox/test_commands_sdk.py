"""Commands and desired state on the Swift device SDK (`telehub simulate`):
the devices answer `set-interval` and apply a desired interval, and a command
runs at most once even when the device restarts between running it and the
hub storing its result (the SDK's durable buffer proves it)."""
import json
import signal
import sqlite3
import subprocess
import time

import httpx

from conftest import BINARY, bearer, wait_for
from tcp_proxy import TcpProxy


def control_token(hub) -> str:
    return hub.cli("token", "create", "--control").stdout.strip()


def simulate(url, tokens, workdir, seconds, rate=1.0):
    return subprocess.Popen(
        [str(BINARY), "simulate", "--devices", "1", "--rate", str(rate), "--duration", str(seconds),
         "--drain-timeout", "20", "--url", url, "--tokens", str(tokens), "--buffer-dir", str(workdir / "buffers"),
         "--summary", str(workdir / "summary.json"), "--backoff-cap", "1", "--heartbeat", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finished(proc, workdir):
    _, errors = proc.communicate(timeout=60)
    assert proc.returncode == 0, errors[-2000:]
    return json.loads((workdir / "summary.json").read_text())["dev-1"]


def command(hub, control, id_):
    return httpx.get(f"{hub.url}/v1/commands/{id_}", headers=bearer(control), timeout=10).json()


def send(hub, control, body, wait=None):
    query = f"?wait={wait}" if wait else ""
    response = httpx.post(f"{hub.url}/v1/devices/dev-1/commands{query}", headers=bearer(control), json=body, timeout=30)
    assert response.status_code in (200, 202), response.text
    return response.json()


def test_sdk_devices_answer_set_interval_and_apply_desired_state(hub, tmp_path):
    control, reader = control_token(hub), hub.read_token()
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"dev-1 {hub.device_token('dev-1')}\n")
    proc = simulate(hub.url, tokens, tmp_path, seconds=7)
    try:
        faster = send(hub, control, {"name": "set-interval", "args": {"seconds": 0.1}}, wait=10_000)
        assert (faster["status"], faster["result"]) == ("succeeded", {"interval": 0.1}), faster
        refused = send(hub, control, {"name": "set-interval", "args": {"seconds": -1}}, wait=10_000)
        assert refused["status"] == "failed" and "seconds" in refused["message"], refused
        unknown = send(hub, control, {"name": "reboot"}, wait=10_000)
        assert (unknown["status"], unknown["message"]) == ("failed", "no handler for command reboot"), unknown
        put = httpx.put(f"{hub.url}/v1/devices/dev-1/state/desired", headers=bearer(control),
                        json={"interval": 0.05}, timeout=10)
        assert put.status_code == 200, put.text

        def state():
            return httpx.get(f"{hub.url}/v1/devices/dev-1/state", headers=bearer(reader), timeout=10).json()
        assert wait_for(lambda: state()["reported"]["applied"] == put.json()["version"], timeout=5), state()
        assert state()["reported"]["state"] == {"interval": 0.05} and state()["delta"] == {}
    finally:
        counters = finished(proc, tmp_path)
    assert counters["commandsRun"] == 2 and counters["desiredApplied"] == 1, counters  # reboot has no handler
    # About 6 s at 10 and 20 readings a second, where 1 a second would give 7.
    assert counters["sent"] > 40 and counters["acked"] == counters["sent"], counters


def test_a_device_restarted_before_its_result_was_stored_does_not_run_the_command_again(hub, tmp_path):
    control = control_token(hub)
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"dev-1 {hub.device_token('dev-1')}\n")
    proxy = TcpProxy(hub.port).start()
    try:
        first = simulate(proxy.url, tokens, tmp_path, seconds=60)
        reader = hub.read_token()
        assert wait_for(lambda: httpx.get(f"{hub.url}/v1/devices/dev-1", headers=bearer(reader), timeout=10)
                        .json().get("online"), timeout=10)
        # The hub still reaches the device, but nothing the device says arrives.
        proxy.deafen()
        sent = send(hub, control, {"name": "set-interval", "args": {"seconds": 2}})
        buffer = tmp_path / "buffers" / "dev-1.sqlite"

        def ran_and_kept_its_result():
            with sqlite3.connect(f"file:{buffer}?mode=ro", uri=True) as db:
                done = db.execute("SELECT finished FROM command WHERE id = ?", (sent["id"],)).fetchone()
                results = db.execute("SELECT count(*) FROM control WHERE body LIKE ?", (f'%{sent["id"]}%',)).fetchone()
            return done == (1,) and results == (1,)
        assert wait_for(ran_and_kept_its_result, timeout=10)
        assert command(hub, control, sent["id"])["status"] == "sent"  # the hub heard neither ack nor result
        first.send_signal(signal.SIGKILL)  # the device reboots
        first.wait(10)
        proxy.cut()
        proxy.deafen(False)
        proxy.restore()
        second = simulate(proxy.url, tokens, tmp_path, seconds=3)
        assert wait_for(lambda: command(hub, control, sent["id"])["status"] == "succeeded", timeout=15)
        counters = finished(second, tmp_path)
    finally:
        proxy.stop()
    done = command(hub, control, sent["id"])
    assert done["result"] == {"interval": 2} and done["attempts"] == 2, done  # sent again after the reboot, same id
    assert counters["commandsRun"] == 0, counters  # the restarted device knew it had run it
