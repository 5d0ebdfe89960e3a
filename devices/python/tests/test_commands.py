"""Commands and desired state in the client, without a hub: the messages a
hub would send are handed to the client's reader methods, and what it answers
is taken from a stand-in connection and from the buffer."""
import asyncio
import json
import threading
import time

import pytest

from conftest import run
from telehub_device import INTERRUPTED, NO_HANDLER, ControlBacklogFull, TelehubDevice, now_ms
from telehub_device.client import _Session


class FakeSocket:
    """Records what the client sends on a connection."""

    def __init__(self):
        self.sent = []

    async def send(self, text):
        self.sent.append(json.loads(text))


def device_on(path, **kwargs):
    return TelehubDevice("ws://127.0.0.1:9/v1/ingest", "thd_x", str(path), **kwargs)


def session():
    return _Session(FakeSocket(), {"type": "hello", "lastSeq": 0}, 100)


def command(command_id, name="set-interval", args=None):
    return {"type": "command", "id": command_id, "name": name, "args": args or {}, "expiresAt": now_ms() + 60_000}


async def settle(device):
    """Waits for every handler task the client started."""
    while device._handler_tasks:
        await asyncio.gather(*list(device._handler_tasks), return_exceptions=True)


def results(device):
    """The control messages the buffer would send next, as the hub would get them."""
    out = []
    while (seq := device.buffer.assign_control()) is not None:
        out.append(json.loads(device.buffer.encode(seq)))
    return out


def without_seq(messages):
    return [{k: v for k, v in m.items() if k != "seq"} for m in messages]


def test_a_command_is_acknowledged_run_once_and_its_result_buffered(tmp_path):
    device = device_on(tmp_path / "d.sqlite")
    calls = []

    @device.on_command("set-interval")
    async def set_interval(args):
        calls.append(args)
        return {"interval": args["seconds"]}

    async def scenario():
        s = session()
        device._on_command(s, command("cmd_1", args={"seconds": 5}))
        await settle(device)
        device._on_command(s, command("cmd_1", args={"seconds": 5}))  # sent again (a lost ack)
        await settle(device)
        return s.ws.sent

    sent = run(scenario())
    assert sent == [{"type": "command_ack", "id": "cmd_1"}] * 2   # acks carry no seq
    assert calls == [{"seconds": 5}] and device.counters.commands_run == 1
    assert without_seq(results(device)) == [
        {"type": "command_result", "id": "cmd_1", "status": "succeeded", "result": {"interval": 5}}]
    device.close()


def test_a_command_is_never_run_again_by_a_new_process_on_the_same_buffer(tmp_path):
    path = tmp_path / "d.sqlite"
    first = device_on(path)
    first.on_command("reboot", lambda args: {"rebooting": True})
    run(_deliver(first, command("cmd_1", "reboot")))
    assert first.counters.commands_run == 1
    first.close()
    second = device_on(path)
    second.on_command("reboot", lambda args: {"rebooting": True})
    sent = run(_deliver(second, command("cmd_1", "reboot")))
    assert sent == [{"type": "command_ack", "id": "cmd_1"}]
    assert second.counters.commands_run == 0
    assert [m["status"] for m in results(second)] == ["succeeded"]  # the first run's result, still unacknowledged
    second.close()


async def _deliver(device, *messages):
    s = session()
    for message in messages:
        device._on_command(s, message)
    await settle(device)
    return s.ws.sent


def test_plain_functions_and_coroutines_both_answer(tmp_path):
    device = device_on(tmp_path / "d.sqlite")
    threads = []

    def blocking(args):
        threads.append(threading.current_thread() is threading.main_thread())
        return {"kind": "plain"}

    async def cooperative(args):
        return {"kind": "async"}

    device.on_command("plain", blocking)
    device.on_command("coro", cooperative)
    run(_deliver(device, command("c1", "plain"), command("c2", "coro")))
    assert sorted(m["result"]["kind"] for m in results(device)) == ["async", "plain"]
    assert threads == [False]  # a plain function runs off the event loop
    device.close()


def test_failures_are_results_with_a_message(tmp_path):
    device = device_on(tmp_path / "d.sqlite")

    @device.on_command("busy")
    def busy(args):
        raise RuntimeError("sensor busy")

    @device.on_command("chatty")
    def chatty(args):
        raise ValueError("é" * 2000)

    device.on_command("huge", lambda args: {"blob": "x" * 9000})
    device.on_command("listy", lambda args: [1, 2])
    device.on_command("nothing", lambda args: None)
    run(_deliver(device, *[command(f"c-{name}", name) for name in
                           ("busy", "chatty", "huge", "listy", "nothing", "unknown-name")]))
    by_id = {m["id"]: m for m in results(device)}
    assert by_id["c-busy"]["status"] == "failed" and by_id["c-busy"]["message"] == "sensor busy"
    chatty_message = by_id["c-chatty"]["message"]
    assert len(chatty_message.encode()) <= 1024 and chatty_message.startswith("éé") and chatty_message.endswith("…")
    assert by_id["c-huge"]["status"] == "failed" and "8192" in by_id["c-huge"]["message"]
    assert by_id["c-listy"]["status"] == "failed" and "dict" in by_id["c-listy"]["message"]
    assert by_id["c-nothing"] == {"type": "command_result", "seq": by_id["c-nothing"]["seq"], "id": "c-nothing",
                                  "status": "succeeded", "result": {}}
    assert by_id["c-unknown-name"]["message"] == NO_HANDLER.format(name="unknown-name")
    assert device.counters.commands_run == 5  # a command without a handler runs nothing
    device.close()


def test_a_slow_handler_does_not_hold_up_the_next_command(tmp_path):
    device = device_on(tmp_path / "d.sqlite")
    device.on_command("slow", lambda args: time.sleep(0.5) or {})
    device.on_command("quick", lambda args: {})

    async def scenario():
        s = session()
        device._on_command(s, command("c-slow", "slow"))
        await asyncio.sleep(0.05)
        device._on_command(s, command("c-quick", "quick"))
        await asyncio.sleep(0.2)
        finished = [m["id"] for m in results(device)]
        await settle(device)
        return s.ws.sent, finished

    sent, finished_early = run(scenario())
    assert [m["id"] for m in sent] == ["c-slow", "c-quick"]
    assert finished_early == ["c-quick"]
    device.close()


def test_a_command_cut_short_by_stop_fails_as_interrupted(tmp_path):
    device = device_on(tmp_path / "d.sqlite")
    started = []

    @device.on_command("forever")
    async def forever(args):
        started.append(True)
        await asyncio.sleep(3600)

    async def scenario():
        device._on_command(session(), command("cmd_1", "forever"))
        await asyncio.sleep(0.05)
        await device._cancel_handlers()

    run(scenario())
    assert started == [True]
    assert without_seq(results(device)) == [
        {"type": "command_result", "id": "cmd_1", "status": "failed", "message": INTERRUPTED}]
    device.close()


def test_a_command_name_is_checked_when_registered(tmp_path):
    device = device_on(tmp_path / "d.sqlite")
    with pytest.raises(ValueError):
        device.on_command("no spaces", lambda args: {})
    with pytest.raises(TypeError):
        device.on_command("ok", "not callable")
    device.close()


def test_desired_state_is_applied_once_per_version_and_reported(tmp_path):
    path = tmp_path / "d.sqlite"
    device = device_on(path)
    calls = []

    @device.on_desired
    def apply(state, version):
        calls.append((state, version))
        return None if version == 1 else {"interval": state["interval"], "note": "clamped"}

    async def scenario(target, *messages):
        for message in messages:
            target._on_desired(message)
            await settle(target)

    run(scenario(device,
                 {"type": "desired", "version": 0, "state": {}},        # never set: nothing to apply
                 {"type": "desired", "version": 1, "state": {"interval": 5}},
                 {"type": "desired", "version": 1, "state": {"interval": 5}},  # after a reconnect
                 {"type": "desired", "version": 2, "state": {"interval": 7}}))
    assert calls == [({"interval": 5}, 1), ({"interval": 7}, 2)]
    assert without_seq(results(device)) == [
        {"type": "reported", "state": {"interval": 5}, "applied": 1},
        {"type": "reported", "state": {"interval": 7, "note": "clamped"}, "applied": 2}]
    device.close()
    again = device_on(path)
    again.on_desired(apply)
    run(scenario(again, {"type": "desired", "version": 2, "state": {"interval": 7}}))
    assert len(calls) == 2  # a restart does not apply it again
    again.close()


def test_while_a_desired_state_is_applied_only_the_newest_of_those_arriving_is_next(tmp_path):
    device = device_on(tmp_path / "d.sqlite")
    versions = []

    @device.on_desired()
    async def apply(state, version):
        versions.append(version)
        await asyncio.sleep(0.1)

    async def scenario():
        for version in (1, 2, 3):
            device._on_desired({"type": "desired", "version": version, "state": {"v": version}})
            await asyncio.sleep(0.01)  # version 1 is being applied when 2 and 3 arrive
        await settle(device)

    run(scenario())
    assert versions == [1, 3] and device.buffer.desired_applied == 3
    device.close()


def test_desired_state_without_a_handler_or_with_a_failing_one_is_not_applied(tmp_path):
    device = device_on(tmp_path / "d.sqlite")
    message = {"type": "desired", "version": 4, "state": {"interval": 5}}

    async def deliver():
        device._on_desired(message)
        await settle(device)

    run(deliver())
    assert device.buffer.desired_applied == 0 and device.buffer.pending_control == 0

    @device.on_desired
    def broken(state, version):
        raise ValueError("interval out of range")

    run(deliver())
    assert device.buffer.desired_applied == 0 and device.buffer.pending_control == 0
    assert "interval out of range" in device.last_desired_error
    device.on_desired(lambda state, version: None)
    run(deliver())  # the hub sends it again on the next connection
    assert device.buffer.desired_applied == 4 and device.last_desired_error is None
    device.close()


def test_report_buffers_a_reported_message_and_refuses_past_the_bound(tmp_path):
    device = device_on(tmp_path / "d.sqlite", max_pending_control=2)
    device.report({"firmware": "1.4"})
    device.report({"uptime": 12})
    with pytest.raises(ControlBacklogFull):
        device.report({"uptime": 13})
    with pytest.raises(ValueError):
        device.report(["not", "an", "object"])
    assert device.counters.pending_control == 2
    assert without_seq(results(device)) == [
        {"type": "reported", "state": {"firmware": "1.4"}}, {"type": "reported", "state": {"uptime": 12}}]
    device.close()


def test_a_desired_state_that_came_before_its_handler_is_applied_when_one_is_registered(tmp_path):
    device = device_on(tmp_path / "d.sqlite")

    async def scenario():
        device._loop = asyncio.get_running_loop()  # as run() sets it
        device._on_desired({"type": "desired", "version": 2, "state": {"interval": 5}})
        await asyncio.sleep(0.05)
        assert device.buffer.desired_applied == 0
        device.on_desired(lambda state, version: {"interval": state["interval"]})
        await asyncio.sleep(0.05)
        await settle(device)

    run(scenario())
    assert device.buffer.desired_applied == 2
    assert without_seq(results(device)) == [{"type": "reported", "state": {"interval": 5}, "applied": 2}]
    device.close()
