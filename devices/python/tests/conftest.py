"""Fixtures for the Python device client's tests: a live hub from the built
`telehub` binary on a free port with a fresh database (the same test hub as
the black-box suites', Tests/support/telehub_process.py), standard library only."""
import asyncio
import json
import sqlite3
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CLIENT_DIR = HERE.parent
ROOT = HERE.parents[2]

sys.path.insert(0, str(CLIENT_DIR))  # import telehub_device from devices/python
sys.path.insert(0, str(ROOT / "Tests" / "support"))
from telehub_process import BINARY, free_port, hub_factory_fixture  # noqa: E402,F401 (BINARY, free_port: for the tests)
from telehub_process import Hub as SharedHub  # noqa: E402


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Hub(SharedHub):
    """The shared test hub, plus direct reads of its database and metrics."""

    def query(self, sql, *params):
        """Reads the hub's database directly (read-only; fine while the hub runs)."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def stored(self, device=None):
        """{(device, metric, ts): value} as stored (through `telehub export`)."""
        return {(d, m, ts): v for d, m, ts, v in self.exported(device)}

    def last_seq(self, device) -> int:
        rows = self.query("SELECT last_seq FROM device WHERE name = ?", device)
        return rows[0][0] if rows else 0

    def control_token(self) -> str:
        """A `thc_` token: may send commands and change desired state."""
        return self.cli("token", "create", "--control").stdout.strip()

    def api(self, method, path, token, body=None, headers=None, timeout=70):
        """(status, decoded JSON body) of an HTTP request to the hub's API."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read() or b"null")

    def metric(self, name) -> float:
        """One unlabelled sample from GET /metrics."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        raise AssertionError(f"{name} not in /metrics")


@pytest.fixture
def hub_factory(tmp_path):
    yield from hub_factory_fixture(tmp_path, Hub)


@pytest.fixture
def hub(hub_factory) -> Hub:
    """A running hub with an empty database and default settings."""
    return hub_factory().start()


def run(coro, timeout=60.0):
    """Runs a coroutine on a fresh event loop, failing the test after `timeout` s."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


class TsClock:
    """Distinct, increasing millisecond timestamps near now, so every generated
    reading is its own (metric, ts) on the hub."""

    def __init__(self):
        self.last = 0

    def __call__(self) -> int:
        self.last = max(now_ms(), self.last + 1)
        return self.last
