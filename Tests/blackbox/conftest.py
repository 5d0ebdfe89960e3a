"""Black-box fixtures: run the built `telehub` binary on a free port with a
fresh database, and make tokens through its CLI, exactly as an operator would."""
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = Path(os.environ.get("TELEHUB_BIN", ROOT / ".build" / "debug" / "telehub"))
PUBLIC = Path(os.environ.get("TELEHUB_PUBLIC", ROOT / "Public"))
ARTIFACTS = Path(os.environ.get("TELEHUB_ARTIFACTS", ROOT / ".test-artifacts"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hub:
    """One `telehub serve` process and its database."""

    def __init__(self, workdir: Path, extra_args=(), env=None):
        self.workdir = workdir
        self.db = workdir / "telehub.sqlite"
        self.port = free_port()
        self.extra_args = list(extra_args)
        self.env = {**os.environ, **(env or {})}
        self.proc = None
        self.session_token = None
        self.log_path = workdir / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ingest"

    def cli(self, *args, check=True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(BINARY), *args, "--db", str(self.db)], capture_output=True, text=True, timeout=60, env=self.env
        )
        if check and result.returncode != 0:
            raise AssertionError(f"telehub {' '.join(args)} failed: {result.stderr}")
        return result

    def device_token(self, name: str, *extra) -> str:
        return self.cli("token", "create", "--device", name, *extra).stdout.strip()

    def read_token(self, *extra) -> str:
        return self.cli("token", "create", "--read", *extra).stdout.strip()

    def start(self, timeout=30.0):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [str(BINARY), "serve", "--db", str(self.db), "--port", str(self.port), "--public", str(PUBLIC),
             *self.extra_args],
            stdout=subprocess.PIPE, stderr=log, text=True, env=self.env,
        )
        deadline = time.time() + timeout
        line = self.proc.stdout.readline()
        match = re.search(r"token=(thr_\S+)", line or "")
        assert match, f"serve printed no dashboard URL: {line!r}; see {self.log_path}"
        self.session_token = match.group(1)
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("hub did not become healthy")

    def stop(self, sig=signal.SIGTERM, timeout=10.0) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        return code

    def kill9(self):
        self.stop(sig=signal.SIGKILL)

    def restart(self):
        self.stop()
        self.start()


@pytest.fixture
def hub_factory(tmp_path):
    hubs = []

    def make(*extra_args, env=None):
        workdir = tmp_path / f"hub{len(hubs)}"
        workdir.mkdir()
        hub = Hub(workdir, extra_args, env)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()


@pytest.fixture
def hub(hub_factory):
    """A running hub with an empty database."""
    return hub_factory().start()


# ---------------------------------------------------------------------------
# Shared helpers for the black-box suites (clients only; nothing in-process).

import json  # noqa: E402
import sqlite3  # noqa: E402
from contextlib import contextmanager  # noqa: E402

from httpx_sse import connect_sse  # noqa: E402
from websockets.exceptions import ConnectionClosed, InvalidStatus  # noqa: E402
from websockets.sync.client import connect as _ws_connect  # noqa: E402

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def now_ms() -> int:
    return int(time.time() * 1000)


def wait_for(condition, timeout=5.0, interval=0.02, message="condition"):
    """Polls `condition` until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def bearer(token) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


class Device:
    """A device's WebSocket session; `hello` holds the server's first message."""

    def __init__(self, ws):
        self.ws = ws
        self.hello = self.recv()

    def send(self, message):
        self.ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))

    def recv(self, timeout=5.0) -> dict:
        return json.loads(self.ws.recv(timeout=timeout))

    def request(self, message, timeout=5.0) -> dict:
        """Sends one message and returns the next server message."""
        self.send(message)
        return self.recv(timeout)

    def expect_ack(self, message, timeout=5.0) -> dict:
        reply = self.request(message, timeout)
        assert reply == {"type": "ack", "seq": message["seq"]}, f"sent {message}, got {reply}"
        return reply

    def close_code(self, timeout=5.0):
        """Reads until the server closes the connection; returns the close code it sent."""
        try:
            while True:
                self.ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    def close(self):
        self.ws.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_device(hub, token, via="header", **kwargs) -> Device:
    """Opens `/v1/ingest` with a device token (header or `?token=`) and reads hello."""
    if via == "header":
        ws = _ws_connect(hub.ws_url, additional_headers=bearer(token), open_timeout=10, **kwargs)
    else:
        ws = _ws_connect(f"{hub.ws_url}?token={token}", open_timeout=10, **kwargs)
    return Device(ws.__enter__())  # context-manager use; Device.close() closes it


def refused_upgrade(hub, token=None, via="header"):
    """Attempts an ingest upgrade that must fail; returns the HTTP response."""
    try:
        device = open_device(hub, token, via)
    except InvalidStatus as refused:
        return refused.response
    device.close()
    raise AssertionError(f"upgrade with token {token!r} was accepted")


def reading(seq, metrics, ts=None) -> dict:
    message = {"type": "reading", "seq": seq, "metrics": metrics}
    if ts is not None:
        message["ts"] = ts
    return message


def batch(seq, readings) -> dict:
    return {"type": "batch", "seq": seq, "readings": readings}


def get_json(hub, path, token, expect=200, **kwargs):
    response = httpx.get(f"{hub.url}{path}", headers=bearer(token), timeout=10, **kwargs)
    assert response.status_code == expect, f"GET {path}: {response.status_code} {response.text}"
    return response.json()


def device_status(hub, name, reader):
    return get_json(hub, f"/v1/devices/{name}", reader)


def db_query(hub, sql, *params):
    """Reads the hub's database directly (read-only; works while the hub runs)."""
    with sqlite3.connect(f"file:{hub.db}?mode=ro", uri=True, timeout=10) as db:
        return db.execute(sql, params).fetchall()


def stored_readings(hub, device):
    """{(metric, ts): value} for one device, straight from the database."""
    rows = db_query(
        hub,
        "SELECT m.name, r.ts, r.value FROM reading r JOIN device d ON d.id = r.device_id "
        "JOIN metric m ON m.id = r.metric_id WHERE d.name = ?",
        device,
    )
    return {(name, ts): value for name, ts, value in rows}


class EventStream:
    """A `/v1/stream` client. `next()` returns the next dispatched SSE event
    (events with no data, such as a bare `retry:`, are not dispatched, per the
    SSE specification)."""

    def __init__(self, hub, token, params=None, headers=None, read_timeout=5.0):
        self.client = httpx.Client(timeout=httpx.Timeout(10.0, read=read_timeout))
        self._cm = connect_sse(
            self.client, "GET", f"{hub.url}/v1/stream", params=params or {}, headers={**bearer(token), **(headers or {})}
        )
        self.source = self._cm.__enter__()
        self.response = self.source.response
        self._events = (e for e in self.source.iter_sse() if e.data != "")

    def next(self):
        return next(self._events)

    def next_of(self, *kinds):
        """The next event whose type is one of `kinds`, skipping others (e.g. presence)."""
        while True:
            event = self.next()
            if event.event in kinds:
                return event

    def rest(self):
        """All remaining events until the server ends the body."""
        return list(self._events)

    def close(self):
        self._cm.__exit__(None, None, None)
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextmanager
def event_stream(hub, token, **kwargs):
    stream = EventStream(hub, token, **kwargs)
    try:
        yield stream
    finally:
        stream.close()
