"""Streamed export (HTTP and CLI), online backup under load, retention."""
import csv
import io
import json
import shutil
import sys
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import BINARY, STORE, batch, bearer, exported, get_json, now_ms, open_device, wait_for


@pytest.fixture
def hub(hub_factory):
    """These tests load data faster than the default per-device rate limit allows."""
    return hub_factory("--rate-limit", "0").start()



def test_export_csv_and_ndjson_with_filters(hub):
    base = 1_732_200_000_000
    for device in ["exp-a", "exp-b"]:
        with open_device(hub, hub.device_token(device)) as session:
            session.expect_ack(batch(1, [{"ts": base + i, "metrics": {"t": i / 2, "h": 1}} for i in range(10)]))
    reader = hub.read_token()
    response = httpx.get(f"{hub.url}/v1/export.csv", headers=bearer(reader),
                         params={"device": "exp-a", "metric": "t", "from": base + 2, "to": base + 5})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["device", "metric", "ts", "time", "value"]
    assert rows[1:] == [["exp-a", "t", str(base + i), f"2024-11-21T14:40:00.00{i}Z", str(i / 2).rstrip("0").rstrip(".")]
                        for i in range(2, 6)]
    ndjson = httpx.get(f"{hub.url}/v1/export.csv", headers=bearer(reader), params={"format": "ndjson", "metric": "h"})
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert len(lines) == 20 and {line["device"] for line in lines} == {"exp-a", "exp-b"}
    assert lines[0] == {"device": "exp-a", "metric": "h", "ts": base, "value": 1}
    assert httpx.get(f"{hub.url}/v1/export.csv").status_code == 401
    assert httpx.get(f"{hub.url}/v1/export.csv", headers=bearer(reader), params={"format": "xml"}).status_code == 400


# The million rows are from 2023: without this, retention would delete them
# while a slow export is still reading.
KEEP_EVERYTHING = ("--retention", "36500d")


def fill_million(db, device="bulk", rows=1_000_000):
    """A million readings stored through `telehub import` (no hub running)."""
    base = 1_700_000_000_000
    csv = "".join(f"{device},v,{base + i},-,{i * 0.5!r}\n" for i in range(rows))
    result = subprocess.run([str(BINARY), "import", "--db", str(db)], input=csv, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == f"imported {rows} values of 1 devices"


@pytest.fixture(scope="module")
def million_rows(tmp_path_factory):
    """One database of a million rows for the module's export cases (each
    works on its own copy): importing it is most of their time."""
    db = tmp_path_factory.mktemp("million") / "telehub.sqlite"
    fill_million(db)
    return db


def with_million_rows(hub, million_rows):
    """The hub's database becomes a copy of the million rows (the hub is not running)."""
    if STORE == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{million_rows}{suffix}").exists():
                shutil.copyfile(f"{million_rows}{suffix}", f"{hub.db}{suffix}")
    else:
        fill_million(hub.db)


def test_export_of_a_million_rows_streams_in_bounded_memory(hub_factory, million_rows):
    hub = hub_factory(*KEEP_EVERYTHING)
    with_million_rows(hub, million_rows)
    hub.start()
    reader = hub.read_token()
    before = hub.rss_kib()
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], hub.rss_kib())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    lines = 0
    size = 0
    with httpx.stream("GET", f"{hub.url}/v1/export.csv", headers=bearer(reader), timeout=120) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            lines += chunk.count(b"\n")
            size += len(chunk)
    done.set()
    sampler.join()
    assert lines == 1_000_001
    growth_mib = (peak[0] - before) / 1024
    # The CSV is ~60 MB; streaming must hold only pages of it.
    assert size > 50 * 1024 * 1024
    assert growth_mib < 40, f"hub grew {growth_mib:.1f} MiB while exporting {size / 2**20:.0f} MiB"


def test_cli_export_streams_to_stdout_in_bounded_memory(hub_factory, million_rows):
    hub = hub_factory(*KEEP_EVERYTHING)
    with_million_rows(hub, million_rows)
    # A fresh Python parent whose only child is the export, so its peak memory is the export's alone.
    measure = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")
    process = subprocess.Popen([sys.executable, "-c", measure, str(BINARY), "export", "--db", str(hub.db)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = sum(chunk.count(b"\n") for chunk in iter(lambda: process.stdout.read(1 << 20), b""))
    assert process.wait() == 0
    assert lines == 1_000_001
    peak_mib = int(process.stderr.read().split()[-1]) / 1024
    assert peak_mib < 120, f"telehub export peaked at {peak_mib:.0f} MiB"


@pytest.mark.sqlite_only
def test_backup_under_load_restores_every_acknowledged_row(hub_factory, tmp_path):
    hub = hub_factory("--rate-limit", "0").start()
    token = hub.device_token("bk")
    acked = []
    stop = threading.Event()

    def stream():
        with open_device(hub, token) as session:
            seq = 0
            while not stop.is_set():
                seq += 1
                session.expect_ack(batch(seq, [{"ts": 1_732_000_000_000 + seq * 100 + i, "metrics": {"v": seq}} for i in range(100)]))
                acked.append(seq)

    writer = threading.Thread(target=stream)
    writer.start()
    wait_for(lambda: len(acked) >= 20, timeout=20, message="acks before the backup")
    acked_before = acked[-1]
    backup = tmp_path / "backup.sqlite"
    subprocess.run([str(BINARY), "backup", str(backup), "--db", str(hub.db)], check=True, timeout=60, capture_output=True)
    wait_for(lambda: len(acked) >= acked_before + 20, timeout=20, message="acks after the backup")
    stop.set()
    writer.join()
    restored = hub_factory("--db", str(backup))
    restored.db = backup
    restored.start()
    status = get_json(restored, "/v1/devices/bk", restored.read_token())
    assert status["lastSeq"] >= acked_before
    restored.stop()
    count = len(exported(restored))
    assert count == status["lastSeq"] * 100  # every message up to lastSeq, each exactly once
    # An existing target is refused, nothing overwritten.
    again = subprocess.run([str(BINARY), "backup", str(backup), "--db", str(hub.db)], capture_output=True, text=True)
    assert again.returncode != 0 and "already exists" in again.stderr


@pytest.mark.sqlite_only
def test_retention_removes_only_old_raw_data(hub_factory):
    hub = hub_factory("--retention", "1d").start()
    now = now_ms()
    with open_device(hub, hub.device_token("ret")) as session:
        session.expect_ack(batch(1, [{"ts": now - 3 * 86_400_000 + i, "metrics": {"v": 1}} for i in range(50)]
                                 + [{"ts": now - 3_600_000 + i, "metrics": {"v": 2}} for i in range(50)]))
    wait_for(lambda: hub_rows(hub) == 50, timeout=10, message="retention to delete the old rows")
    assert {value for _, _, _, value in exported(hub)} == {2.0}
    metrics = httpx.get(f"{hub.url}/metrics").text
    assert "telehub_retention_deleted_rows_total 50" in metrics
    # The rollups outlive the raw rows: the old day is still in the hour tier.
    assert hub_query(hub, "SELECT count(*) FROM rollup WHERE hour < ?", now - 86_400_000)[0][0] == 1


def hub_query(hub, sql, *params):
    with sqlite3.connect(f"file:{hub.db}?mode=ro", uri=True, timeout=10) as db:
        return db.execute(sql, params).fetchall()


def hub_rows(hub):
    return len(exported(hub))
