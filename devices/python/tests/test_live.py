"""The client against a live hub (the built `telehub` binary)."""
import asyncio
import json
import logging
import os
import subprocess
import sys

from conftest import CLIENT_DIR, TsClock, now_ms, run
from telehub_device import TelehubDevice


def client(hub, token, path, **kwargs):
    kwargs.setdefault("backoff_base", 0.1)
    kwargs.setdefault("backoff_cap", 1.0)
    return TelehubDevice(hub.ws_url, token, str(path), **kwargs)


def test_readings_arrive_and_are_acked(hub, tmp_path):
    token = hub.device_token("greenhouse-1")
    ts = TsClock()
    sent = {}

    async def scenario():
        states = []
        async with client(hub, token, tmp_path / "dev.sqlite") as device:
            watcher = asyncio.create_task(_collect(device.states(), states))
            for i in range(50):
                stamp = ts()
                sent[("greenhouse-1", "temperature", stamp)] = 20 + i / 10
                sent[("greenhouse-1", "door", stamp)] = float(i % 2)
                device.send({"temperature": 20 + i / 10, "door": bool(i % 2)}, ts=stamp)
                if i % 10 == 0:
                    await asyncio.sleep(0.01)
            assert await device.flush(10)
            assert "permessage-deflate" in device.extensions
            counters = device.counters
            next_seq = device.buffer.next_seq
        await asyncio.wait_for(watcher, 2)
        return counters, states, next_seq

    counters, states, next_seq = run(scenario(), 30)
    assert hub.stored("greenhouse-1") == sent
    assert (counters.sent, counters.acked, counters.buffered, counters.rejected) == (50, 50, 0, 0)
    assert states[:2] == ["connecting", "connected"] and states[-1] == "stopped"
    assert hub.last_seq("greenhouse-1") == next_seq - 1  # every seq the client used was stored


async def _collect(states, into):
    async for state in states:
        into.append(state)


def test_device_restart_resumes_without_loss_or_duplicates(hub, tmp_path):
    """A device dies with messages in flight; a new client on the same buffer
    file resends only what the hub does not have, under the same seqs."""
    token = hub.device_token("meter")
    path = tmp_path / "dev.sqlite"
    ts = TsClock()
    generated = [ts() for _ in range(3000)]

    async def first_life():
        device = client(hub, token, path, batch_size=100, window=4, backfill_rate=2000)
        device.send_many([({"power": i}, stamp) for i, stamp in enumerate(generated)])
        device.start()
        while device.counters.acked < 800:
            await asyncio.sleep(0.005)
        device._task.cancel()  # a crash: no goodbye, messages still in flight
        await asyncio.gather(device._task, return_exceptions=True)
        in_flight = device.buffer.assigned_seqs
        left, seq_before = device.buffer.buffered, device.buffer.next_seq
        device.close()
        return in_flight, left, seq_before

    async def second_life():
        async with client(hub, token, path, backfill_rate=2000) as device:
            more = [ts() for _ in range(100)]
            for stamp in more:
                device.send({"power": -1}, ts=stamp)
            assert await device.flush(15)
            return device.counters, device.buffer.initially_buffered, more, device.buffer.next_seq

    in_flight, left, seq_before = run(first_life(), 30)
    assert in_flight and 0 < left < 3000, "the crash should leave messages in flight and readings buffered"
    counters, initially, more, seq_after = run(second_life(), 30)
    assert initially == left
    assert counters.acked == left + 100 and counters.buffered == 0
    stored = hub.stored("meter")
    assert set(stored) == {("meter", "power", t) for t in generated + more}
    # Nothing was written twice: the hub counted exactly one value per reading.
    assert hub.metric("telehub_values_ingested_total") == 3100
    assert seq_after > seq_before and hub.last_seq("meter") == seq_after - 1


def test_hub_restart_mid_stream(hub, tmp_path):
    token = hub.device_token("cold-room")
    ts = TsClock()
    generated = []

    async def scenario():
        async with client(hub, token, tmp_path / "dev.sqlite") as device:
            async def produce(seconds):
                end = asyncio.get_running_loop().time() + seconds
                while asyncio.get_running_loop().time() < end:
                    stamp = ts()
                    generated.append(stamp)
                    device.send({"t": len(generated)}, ts=stamp)
                    await asyncio.sleep(0.005)

            await produce(1.0)
            await asyncio.to_thread(hub.stop)     # SIGTERM: acks what it committed, closes with 1001
            await produce(0.5)                    # the device keeps buffering meanwhile
            await asyncio.to_thread(hub.start)
            await produce(1.0)
            assert await device.flush(15)
            return device.counters, device.last_close

    counters, last_close = run(scenario(), 40)
    assert last_close[0] == 1001  # the hub said it was going away
    assert counters.reconnects >= 1
    assert counters.acked == len(generated) and counters.buffered == 0
    assert set(hub.stored("cold-room")) == {("cold-room", "t", stamp) for stamp in generated}


def test_rate_limited_messages_are_resent_go_back_n(hub_factory, tmp_path):
    """Without pacing, the client overruns a small rate limit; every refused
    message is resent from the first refused one and stored exactly once.
    (The hub raises a burst below maxBatch to maxBatch, hence --max-batch.)
    The client's batch size is also cut down to hello.maxBatch."""
    hub = hub_factory("--rate-limit", "500", "--rate-burst", "200", "--max-batch", "100").start()
    token = hub.device_token("burst")
    ts = TsClock()
    generated = [ts() for _ in range(1500)]

    async def scenario():
        async with client(hub, token, tmp_path / "dev.sqlite", batch_size=150, window=4,
                          backfill_rate=None) as device:
            device.send_many([({"x": i}, stamp) for i, stamp in enumerate(generated)])
            assert await device.flush(20)
            return device.counters, device.last_error

    counters, last_error = run(scenario(), 40)
    assert last_error and last_error["code"] == "rate_limited" and last_error["retryable"]
    assert counters.acked == 1500 and counters.rejected == 0 and counters.reconnects == 0
    assert set(hub.stored("burst")) == {("burst", "x", stamp) for stamp in generated}
    assert hub.metric("telehub_values_ingested_total") == 1500


def test_a_message_refused_for_good_is_dropped_and_counted(hub, tmp_path, caplog):
    token = hub.device_token("clock-skew")

    async def scenario():
        async with client(hub, token, tmp_path / "dev.sqlite") as device:
            device.send({"x": 1}, ts=now_ms() + 3_600_000)  # an hour ahead: invalid_timestamp
            assert await device.flush(5)
            device.send({"x": 2})
            assert await device.flush(5)
            return device.counters, device.last_error

    with caplog.at_level(logging.WARNING, logger="telehub_device"):
        counters, last_error = run(scenario(), 20)
    assert last_error["code"] == "invalid_timestamp" and last_error["retryable"] is False
    assert (counters.sent, counters.acked, counters.rejected, counters.buffered) == (2, 1, 1, 0)
    assert [v for v in hub.stored("clock-skew").values()] == [2.0]
    assert "rejected seq" in caplog.text


def test_a_refused_token_backs_off_to_the_cap_says_why_and_keeps_the_readings(hub, tmp_path, caplog):
    async def scenario():
        changes = []
        device = client(hub, "thd_not-a-real-token", tmp_path / "dev.sqlite",
                        on_state=lambda state: changes.append((state, asyncio.get_running_loop().time())))
        device.send({"x": 1})
        device.start()
        await asyncio.sleep(2.5)
        line = device.status_line()
        await device.stop()
        result = changes, device.counters, device.last_close, device.last_failure, device.failure_is_permanent, line
        device.close()
        return result

    with caplog.at_level(logging.ERROR, logger="telehub_device"):
        changes, counters, last_close, failure, permanent, line = run(scenario(), 10)
    states = [state for state, _ in changes]
    assert last_close == ("http", 401)
    assert "connected" not in states and states.count("backing_off") >= 2
    assert counters.buffered == 1 and counters.reconnects >= 2
    assert "HTTP 401" in caplog.text and "HTTP 401" in failure and "telehub token create" in failure
    assert permanent and "last_error=" in line and "401" in line
    # A refusal that retrying cannot cure waits between half the cap and the cap (1 s here),
    # where a transient failure would start from backoff_base (0.1 s).
    waits = [later - at for (state, at), (following, later) in zip(changes, changes[1:])
             if state == "backing_off" and following == "connecting"]  # not the wait stop() cut short
    assert waits and min(waits) >= 0.45, waits


def test_a_wrong_address_says_404(hub, tmp_path):
    token = hub.device_token("lost")

    async def scenario():
        device = TelehubDevice(f"{hub.url}/not-telehub", token, str(tmp_path / "dev.sqlite"), backoff_cap=1.0)
        device.start()
        await asyncio.sleep(1.0)
        await device.stop()
        result = device.url, device.last_failure, device.failure_is_permanent
        device.close()
        return result

    url, failure, permanent = run(scenario(), 10)
    assert url.endswith("/not-telehub/v1/ingest")
    assert "404" in failure and permanent


def test_the_address_the_hub_prints_works(hub, tmp_path):
    token = hub.device_token("plain-http")

    async def scenario():
        device = TelehubDevice(hub.url, token, str(tmp_path / "dev.sqlite"))  # http://127.0.0.1:PORT
        device.send({"x": 1}, now_ms())
        device.start()
        delivered = await device.flush(10)
        await device.stop()
        device.close()
        return delivered

    assert run(scenario(), 20)


def test_a_closed_port_says_connection_refused(tmp_path):
    from conftest import free_port

    async def scenario():
        device = TelehubDevice(f"http://127.0.0.1:{free_port()}", "thd_x", str(tmp_path / "dev.sqlite"), backoff_cap=0.5)
        device.start()
        await asyncio.sleep(0.5)
        await device.stop()
        result = device.last_failure, device.failure_is_permanent
        device.close()
        return result

    failure, permanent = run(scenario(), 10)
    assert "connection refused" in failure and not permanent


def test_command_line_reads_json_lines(hub, tmp_path):
    token = hub.device_token("cli")
    stamp = now_ms() - 60_000
    lines = "\n".join([
        '{"temperature": 21.5, "humidity": 40}',
        f'{{"ts": {stamp}, "metrics": {{"temperature": 19.0}}}}',
        "not json",
        '{"bad name": 1}',
        "",
    ])
    result = subprocess.run(
        [sys.executable, "-m", "telehub_device", "--url", hub.ws_url, "--buffer", str(tmp_path / "cli.sqlite")],
        input=lines, capture_output=True, text=True, timeout=30, cwd=CLIENT_DIR,
        env={**os.environ, "TELEHUB_TOKEN": token},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("skipped line") == 2
    assert "sent=2 acked=2 buffered=0" in result.stderr
    stored = hub.stored("cli")
    assert stored[("cli", "temperature", stamp)] == 19.0
    assert sorted(k[1] for k in stored) == ["humidity", "temperature", "temperature"]


def test_replaced_connection_backs_off_and_carries_on(hub, tmp_path, caplog):
    """Another connection with the same token closes ours with 4000; the
    client logs it, backs off, reconnects and delivers the rest."""
    from telehub_device import _ws_connect  # whichever websockets API is installed

    token = hub.device_token("twin")
    ts = TsClock()
    stamps = [ts() for _ in range(20)]

    async def scenario():
        async with client(hub, token, tmp_path / "dev.sqlite") as device:
            device.send_many([({"x": 1}, stamp) for stamp in stamps[:10]])
            assert await device.flush(5)
            async with _ws_connect(hub.ws_url, {"Authorization": f"Bearer {token}"}) as intruder:
                hello = json.loads(await intruder.recv())
                while device.last_close is None:
                    await asyncio.sleep(0.01)
                close_code = device.last_close[0]
            device.send_many([({"x": 2}, stamp) for stamp in stamps[10:]])
            assert await device.flush(10)
            return close_code, hello, device.counters

    with caplog.at_level(logging.WARNING, logger="telehub_device"):
        close_code, hello, counters = run(scenario(), 30)
    assert close_code == 4000
    assert hello["lastSeq"] >= 1  # the newer connection resumes from what the older stored
    assert counters.acked == 20 and counters.reconnects >= 1
    assert len(hub.stored("twin")) == 20
    assert "replaced by a newer connection" in caplog.text
