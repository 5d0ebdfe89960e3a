"""Storage faults: when the store cannot write (locked by another process,
disk full) nothing is acknowledged, messages get a retryable `overloaded`,
`/healthz` answers 503 with the reason, and ingest resumes on its own. A
message the store refuses for its own data costs only its sender."""
import shutil
import sqlite3
import subprocess
import threading
import time
import uuid

import httpx
import pytest

from conftest import Hub, now_ms, open_device, reading, stored_readings, wait_for

# Every case here looks inside the SQLite file (its layout, locks, disk space).
pytestmark = pytest.mark.sqlite_only


def health(hub):
    response = httpx.get(f"{hub.url}/healthz", timeout=15)
    return response.status_code, response.json()


def send_until_acked(device, message, timeout=20.0):
    """Sends `message` again after each retryable refusal until it is acknowledged.
    Returns the refusals seen on the way."""
    refusals = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = device.request(message, timeout=timeout)
        if reply == {"type": "ack", "seq": message["seq"]}:
            return refusals
        assert reply["type"] == "error" and reply["retryable"] is True, reply
        refusals.append(reply)
        time.sleep(reply.get("retryAfterMs", 500) / 1000)
    raise AssertionError(f"{message} was never acknowledged; refusals {refusals[-3:]}")


def test_a_database_locked_by_another_process(hub):
    token = hub.device_token("d")
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"t": 1}))
        locked, release = threading.Event(), threading.Event()

        def hold_lock():
            db = sqlite3.connect(hub.db, timeout=10, isolation_level=None)
            db.execute("BEGIN EXCLUSIVE")
            locked.set()
            release.wait(8)
            db.execute("ROLLBACK")
            db.close()

        holder = threading.Thread(target=hold_lock)
        holder.start()
        assert locked.wait(5)
        ts = now_ms()
        # The hub waits 2 s for the lock, then refuses: nothing is acknowledged meanwhile.
        reply = device.request(reading(2, {"t": 2}, ts=ts), timeout=7)
        assert reply["type"] == "error" and reply["code"] == "overloaded" and reply["retryable"] is True, reply
        assert reply["seq"] == 2
        status, body = health(hub)
        assert holder.is_alive(), "the lock ended before /healthz answered"
        assert status == 503 and body["status"] == "unavailable" and "locked" in body["reason"], body
        release.set()
        holder.join()
        send_until_acked(device, reading(2, {"t": 2}, ts=ts))
        device.expect_ack(reading(3, {"t": 3}))
    assert stored_readings(hub, "d")[("t", ts)] == 2
    wait_for(lambda: health(hub)[0] == 200, timeout=10, message="healthy again")


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk(small_disk, tmp_path):
    workdir = small_disk / "hub"
    workdir.mkdir()
    hub = Hub(workdir)
    hub.log_path = tmp_path / "full-disk-serve.log"
    hub.start()
    try:
        token = hub.device_token("d")
        with open_device(hub, token) as device:
            device.expect_ack(reading(1, {"t": 1}))
            filler = small_disk / "filler"
            subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
            assert shutil.disk_usage(small_disk).free < 64 * 1024
            base = now_ms() - 600_000
            big = {"type": "batch", "seq": 2,
                   "readings": [{"ts": base + i, "metrics": {f"m{k}": i + k for k in range(8)}} for i in range(1000)]}
            reply = device.request(big, timeout=20)
            assert reply["type"] == "error" and reply["code"] == "overloaded" and reply["retryable"], reply
            status, body = health(hub)
            assert status == 503 and "full" in body["reason"], body
            assert hub.proc.poll() is None
            filler.unlink()
            send_until_acked(device, big)
        assert len(stored_readings(hub, "d")) == 1 + 8000
        wait_for(lambda: health(hub)[0] == 200, timeout=10, message="healthy again")
    finally:
        hub.stop()


def test_a_poisoned_message_costs_only_its_sender(hub_factory):
    hub = hub_factory("--flush-interval-ms", "400").start()
    poisoner, good = hub.device_token("poisoner"), hub.device_token("good")
    with sqlite3.connect(hub.db) as db:
        # A data-dependent failure inside the commit: the first use of the metric name "poison".
        db.execute("CREATE TRIGGER poison BEFORE INSERT ON metric WHEN NEW.name = 'poison' "
                   "BEGIN SELECT RAISE(ABORT, 'poisoned value'); END")
    with open_device(hub, poisoner) as bad, open_device(hub, good) as fine:
        ts = now_ms()
        bad.send(reading(1, {"poison": 666}, ts=ts))
        fine.send(reading(1, {"t": 1}, ts=ts))
        bad.send(reading(2, {"t": 2}, ts=ts + 1))
        assert fine.recv(timeout=10) == {"type": "ack", "seq": 1}
        error = bad.recv(timeout=10)
        assert error["type"] == "error" and error["seq"] == 1 and error["retryable"] is False, error
        assert error["code"] == "invalid_value" and "poisoned value" in error["message"], error
        assert bad.recv(timeout=10) == {"type": "ack", "seq": 2}
    assert stored_readings(hub, "good") == {("t", ts): 1}
    assert stored_readings(hub, "poisoner") == {("t", ts + 1): 2}
    assert httpx.get(f"{hub.url}/healthz", timeout=5).status_code == 200
