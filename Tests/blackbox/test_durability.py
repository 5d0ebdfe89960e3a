"""Nothing acknowledged is ever lost: kill -9 and SIGTERM with acks in flight."""
import base64
import json
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from conftest import device_status, exported, now_ms, open_device, stored_readings

DEVICE = "durable-1"
BATCHES = 60
READINGS_PER_BATCH = 40


def make_batches(first_seq, t0):
    """Batches with a distinct ts per reading and values derived from (seq, i)."""
    messages = {}
    for k in range(BATCHES):
        seq = first_seq + k
        readings = [
            {"ts": t0 + seq * 1000 + i, "metrics": {"temp": seq * 1000 + i, "hum": -(seq * 1000 + i) / 4}}
            for i in range(READINGS_PER_BATCH)
        ]
        messages[seq] = {"type": "batch", "seq": seq, "readings": readings}
    return messages


def rows_of(messages):
    """{(metric, ts): value} that the given messages store."""
    rows = {}
    for message in messages:
        for r in message["readings"]:
            for metric, value in r["metrics"].items():
                rows[(metric, r["ts"])] = value
    return rows


def stored_count(hub):
    return len(exported(hub, DEVICE))


def stream_and_stop(hub, token, messages, stop, after_seq):
    """Pipelines all messages, and as soon as an ack at or above `after_seq`
    has arrived, stops the hub (via `stop`, in a thread) while the device
    keeps reading like a live device would. Returns the acked seqs, in order."""
    acked = []
    device = open_device(hub, token)
    for message in messages.values():
        device.send(json.dumps(message))
    stopper = threading.Thread(target=stop)
    try:
        while not acked or acked[-1] < after_seq:
            reply = device.recv(timeout=10)
            assert reply["type"] == "ack", reply
            acked.append(reply["seq"])
        stopper.start()
        # Any ack that arrives before the connection ends is a promise too.
        while acked[-1] < max(messages):
            reply = device.recv(timeout=15)
            assert reply["type"] == "ack", reply
            acked.append(reply["seq"])
    except ConnectionClosed:
        pass
    finally:
        device.ws.close()
        if stopper.ident is not None:
            stopper.join()
    assert acked == sorted(set(acked)), f"acks out of order: {acked}"
    return acked


def check_after_restart(hub, token, reader, messages, acked):
    with open_device(hub, token) as device:
        last_seq = device.hello["lastSeq"]
    assert acked, "the test needs at least one ack before the stop"
    assert last_seq >= max(acked), f"hello.lastSeq {last_seq} < last acked seq {max(acked)}"
    committed = [m for seq, m in messages.items() if seq <= last_seq]
    expected = rows_of(committed)
    acked_rows = rows_of(messages[seq] for seq in messages if seq <= max(acked))
    rows = stored_readings(hub, DEVICE)
    missing = set(acked_rows) - set(rows)
    assert not missing, f"{len(missing)} acked readings lost, e.g. {sorted(missing)[:3]}"
    assert stored_count(hub) == len(expected)
    assert rows == expected
    # The read API agrees: latest values are those of the newest committed reading.
    newest = committed[-1]["readings"][-1]
    status = device_status(hub, DEVICE, reader)
    assert status["lastSeq"] == last_seq
    assert status["metrics"]["temp"] == {"ts": newest["ts"], "value": newest["metrics"]["temp"]}
    assert status["metrics"]["hum"] == {"ts": newest["ts"], "value": newest["metrics"]["hum"]}
    return last_seq


def test_kill9_loses_no_acked_reading(hub):
    token, reader = hub.device_token(DEVICE), hub.read_token()
    t0 = now_ms() - 5 * 3_600_000
    all_messages = {}
    next_seq = 1
    for round_ in range(3):
        messages = make_batches(next_seq, t0)
        all_messages.update(messages)
        acked = stream_and_stop(hub, token, messages, hub.kill9, after_seq=next_seq + BATCHES // 3 + round_ * 5)
        assert hub.proc is None
        hub.start()
        last_seq = check_after_restart(hub, token, reader, all_messages, acked)
        # Continue after what was stored; the unstored rest is simply never resent here.
        all_messages = {seq: m for seq, m in all_messages.items() if seq <= last_seq}
        next_seq = last_seq + 1


def test_sigterm_exits_zero_and_keeps_acked_data(hub):
    token, reader = hub.device_token(DEVICE), hub.read_token()
    t0 = now_ms() - 5 * 3_600_000
    messages = make_batches(1, t0)
    codes = []

    def terminate():
        started = time.monotonic()
        codes.append(hub.stop(timeout=10))
        codes.append(time.monotonic() - started)

    acked = stream_and_stop(hub, token, messages, terminate, after_seq=BATCHES // 2)
    code, elapsed = codes
    assert code == 0, f"exit status {code} after SIGTERM"
    assert elapsed < 10
    hub.start()
    check_after_restart(hub, token, reader, messages, acked)


def test_sigterm_after_all_acks(hub):
    token, reader = hub.device_token(DEVICE), hub.read_token()
    messages = make_batches(1, now_ms() - 5 * 3_600_000)
    acked = stream_and_stop(hub, token, messages, lambda: None, after_seq=BATCHES)
    assert acked[-1] == BATCHES
    assert hub.stop() == 0
    hub.start()
    last_seq = check_after_restart(hub, token, reader, messages, acked)
    assert last_seq == BATCHES
    assert stored_count(hub) == BATCHES * READINGS_PER_BATCH * 2


def test_sigterm_exits_even_if_a_device_never_answers_the_close(hub):
    """A device that stops responding (dead link, stuck firmware) must not keep
    a stopping hub alive: SIGTERM still ends it with status 0, promptly."""
    token = hub.device_token(DEVICE)
    sock = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /v1/ingest HTTP/1.1\r\nHost: 127.0.0.1:{hub.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n".encode()
        )
        received = b""
        while b'"hello"' not in received:
            chunk = sock.recv(4096)
            assert chunk, f"connection closed before hello: {received!r}"
            received += chunk
        assert received.startswith(b"HTTP/1.1 101")
        # From here on the device neither reads nor closes its socket.
        started = time.monotonic()
        code = hub.stop(timeout=12)
        elapsed = time.monotonic() - started
    finally:
        sock.close()
    assert code == 0, f"hub did not exit on SIGTERM within 12 s (status {code}, after {elapsed:.1f} s)"


@pytest.mark.sqlite_only
def test_a_stopped_hub_leaves_one_whole_file_to_copy(hub, tmp_path):
    """After SIGTERM the WAL is checkpointed into the database file and
    removed: copying telehub.sqlite alone, as people back up or move a file,
    keeps every acknowledged reading."""
    token = hub.device_token(DEVICE)
    messages = make_batches(1, now_ms() - 5 * 3_600_000)
    acked = stream_and_stop(hub, token, messages, lambda: None, after_seq=BATCHES)
    assert acked[-1] == BATCHES
    assert hub.stop() == 0
    wal = Path(f"{hub.db}-wal")
    assert not wal.exists() or wal.stat().st_size == 0, f"{wal.stat().st_size} bytes left in the WAL"
    copy = tmp_path / "moved" / "telehub.sqlite"
    copy.parent.mkdir()
    shutil.copyfile(hub.db, copy)  # the database file only
    hub.db = copy
    assert len(exported(hub)) == BATCHES * READINGS_PER_BATCH * 2
