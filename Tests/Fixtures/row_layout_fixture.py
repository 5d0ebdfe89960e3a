#!/usr/bin/env python3
"""The values in `row-layout.sqlite.gz`, and how that file was made.

The file is a database written by the row layout (a `reading` row per value,
`rollup_1m` and `rollup_1h` rows): a hub of commit bc0fae0 stored these
readings over HTTP, then its file was checkpointed into one file and gzipped.
The layout-migration tests open it with today's hub and check that every value
comes out the same. To make it again:

    git worktree add /tmp/old bc0fae0 && (cd /tmp/old && swift build -c release --product telehub)
    python3 Tests/Fixtures/row_layout_fixture.py --bin /tmp/old/.build/release/telehub
"""
import argparse
import gzip
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "row-layout.sqlite.gz"
DEVICES = ["old-1", "old-2", "old-3"]
METRICS = ["temperature", "humidity"]
START = 1_700_000_000_000  # 2023-11-14, a whole hour
STEP_MS = 10_000
COUNT = 1500  # a little over four hours per series
BATCH = 250


def value(device_index, metric_index, i):
    base = (21.0, 45.0)[metric_index] + device_index
    return round(base + 3 * math.sin(i / 200 + device_index) + ((i * 7919 + metric_index * 31) % 41 - 20) / 100, 2)


def overwritten(device_index, i):
    """Every 97th reading of each device was sent twice, the second time with this value."""
    return None if i % 97 else round(-10.0 - device_index - i / 1000, 3)


def expected():
    """{(device, metric, ts): value} as the fixture stores it (last write wins)."""
    values = {}
    for d, device in enumerate(DEVICES):
        for i in range(COUNT):
            for m, metric in enumerate(METRICS):
                values[(device, metric, START + i * STEP_MS)] = value(d, m, i)
            if overwritten(d, i) is not None:
                values[(device, METRICS[0], START + i * STEP_MS)] = overwritten(d, i)
    return values


def extract(path):
    """Writes the fixture's database to `path`."""
    with gzip.open(FIXTURE, "rb") as source, open(path, "wb") as target:
        shutil.copyfileobj(source, target)


def post(url, token, message):
    request = urllib.request.Request(f"{url}/v1/ingest", data=json.dumps(message).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        reply = json.loads(response.read())
    assert reply.get("ack") == message["seq"], reply


def make(binary):
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "telehub.sqlite")
        tokens = [subprocess.check_output([binary, "token", "create", "--device", d, "--db", db], text=True).strip()
                  for d in DEVICES]
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        hub = subprocess.Popen([binary, "serve", "--db", db, "--port", str(port), "--token-url", "--retention", "36500d",
                                "--rate-limit", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert "token=" in hub.stdout.readline()
            url = f"http://127.0.0.1:{port}"
            for d, token in enumerate(tokens):
                seq = 0
                for first in range(0, COUNT, BATCH):
                    readings = [{"ts": START + i * STEP_MS, "metrics": {m: value(d, k, i) for k, m in enumerate(METRICS)}}
                                for i in range(first, min(first + BATCH, COUNT))]
                    seq += 1
                    post(url, token, {"type": "batch", "seq": seq, "readings": readings})
                again = [{"ts": START + i * STEP_MS, "metrics": {METRICS[0]: overwritten(d, i)}}
                         for i in range(COUNT) if overwritten(d, i) is not None]
                seq += 1
                post(url, token, {"type": "batch", "seq": seq, "readings": again})
        finally:
            hub.terminate()
            hub.wait(timeout=30)
        with sqlite3.connect(db) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert {"reading", "rollup_1m", "rollup_1h"} <= tables, tables
            rows = connection.execute("SELECT count(*) FROM reading").fetchone()[0]
        assert rows == len(expected()), (rows, len(expected()))
        with open(db, "rb") as source, gzip.open(FIXTURE, "wb", compresslevel=9) as target:
            shutil.copyfileobj(source, target)
        print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes, {rows} readings)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True, help="a telehub binary of the row layout (commit bc0fae0)")
    make(parser.parse_args().bin)
