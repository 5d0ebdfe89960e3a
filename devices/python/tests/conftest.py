"""Fixtures for the Python device client's tests: a live hub from the built
`telehub` binary on a free port with a fresh database (like the black-box
suites' `Hub`, reduced to what these tests need, standard library only)."""
import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
CLIENT_DIR = HERE.parent
ROOT = HERE.parents[2]
BINARY = Path(os.environ.get("TELEHUB_BIN", ROOT / ".build" / "debug" / "telehub"))
PUBLIC = Path(os.environ.get("TELEHUB_PUBLIC", ROOT / "Public"))

sys.path.insert(0, str(CLIENT_DIR))  # import telehub_device from devices/python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Hub:
    """One `telehub serve` process and its database; restarts keep the port and the file."""

    def __init__(self, workdir: Path, extra_args=()):
        self.workdir = workdir
        self.db = workdir / "telehub.sqlite"
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.proc = None
        self.log_path = workdir / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ingest"

    def cli(self, *args) -> str:
        result = subprocess.run([str(BINARY), *args, "--db", str(self.db)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"telehub {' '.join(args)} failed: {result.stderr}"
        return result.stdout

    def device_token(self, name: str) -> str:
        return self.cli("token", "create", "--device", name).strip()

    def start(self, timeout=30.0) -> "Hub":
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [str(BINARY), "serve", "--db", str(self.db), "--port", str(self.port), "--public", str(PUBLIC),
             *self.extra_args],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"hub exited with {self.proc.returncode}; see {self.log_path}"
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.03)
        raise AssertionError(f"hub did not become healthy; see {self.log_path}")

    def stop(self, sig=signal.SIGTERM, timeout=10.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill9(self) -> None:
        self.stop(sig=signal.SIGKILL)

    def query(self, sql, *params):
        """Reads the hub's database directly (read-only; fine while the hub runs)."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    def stored(self, device=None):
        """{(device, metric, ts): value} straight from the database."""
        sql = ("SELECT d.name, m.name, r.ts, r.value FROM reading r JOIN device d ON d.id = r.device_id "
               "JOIN metric m ON m.id = r.metric_id")
        rows = self.query(sql + " WHERE d.name = ?", device) if device else self.query(sql)
        return {(d, m, ts): v for d, m, ts, v in rows}

    def last_seq(self, device) -> int:
        rows = self.query("SELECT last_seq FROM device WHERE name = ?", device)
        return rows[0][0] if rows else 0

    def metric(self, name) -> float:
        """One unlabelled sample from GET /metrics."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        raise AssertionError(f"{name} not in /metrics")


@pytest.fixture
def hub_factory(tmp_path):
    hubs = []

    def make(*extra_args) -> Hub:
        workdir = tmp_path / f"hub{len(hubs)}"
        workdir.mkdir()
        hub = Hub(workdir, extra_args)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()


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
