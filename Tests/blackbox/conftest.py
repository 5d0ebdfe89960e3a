"""Black-box fixtures: run the built `telehub` binary on a free port with a
fresh database, and make tokens through its CLI, exactly as an operator would."""
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from telehub_process import BINARY, PUBLIC, ROOT, STORE, Hub, free_port, hub_factory_fixture  # noqa: E402,F401 (for the tests)

ARTIFACTS = Path(os.environ.get("TELEHUB_ARTIFACTS", ROOT / ".test-artifacts"))


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: looks inside the SQLite file; skipped when the hubs run on PostgreSQL")


def pytest_collection_modifyitems(config, items):
    if STORE == "sqlite":
        return
    skip = pytest.mark.skip(reason="looks inside the SQLite file")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def hub_factory(tmp_path):
    yield from hub_factory_fixture(tmp_path)


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


def exported(hub, device=None):
    """Every stored value as (device, metric, ts, value) (see `Hub.exported`)."""
    return hub.exported(device)


def stored_readings(hub, device):
    """{(metric, ts): value} for one device, as stored."""
    return {(metric, ts): value for _, metric, ts, value in exported(hub, device)}


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


# ---------------------------------------------------------------------------
# Helpers for the pressure suites (limits, presence, tokens, TLS, metrics,
# shutdown). Added at the end so that the helpers above stay as they were.

import base64  # noqa: E402
import ssl  # noqa: E402
import struct  # noqa: E402


def tokens_list(hub):
    """`telehub token list --json`, parsed."""
    return json.loads(hub.cli("token", "list", "--json").stdout)


def token_labelled(hub, label):
    """The one token-list entry with this label."""
    matches = [t for t in tokens_list(hub) if t["label"] == label]
    assert len(matches) == 1, matches
    return matches[0]


def post_json(hub, path, token, body, **kwargs):
    """POSTs a message (dict or raw str/bytes) with a bearer token; returns the response."""
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return httpx.post(f"{hub.url}{path}", headers=bearer(token), content=content, timeout=10, **kwargs)


def read_frame(read_exactly, deadline):
    """One WebSocket frame as (opcode, payload, was it masked), its payload
    unmasked; `read_exactly(n, deadline)` gives the next n bytes of the socket."""
    first, second = read_exactly(2, deadline)
    opcode, length = first & 0x0F, second & 0x7F
    if length == 126:
        length = struct.unpack("!H", read_exactly(2, deadline))[0]
    elif length == 127:
        length = struct.unpack("!Q", read_exactly(8, deadline))[0]
    mask = read_exactly(4, deadline) if second & 0x80 else None
    payload = read_exactly(length, deadline)
    return opcode, mask_payload(payload, mask) if mask else payload, mask is not None


def mask_payload(payload, mask):
    """RFC 6455 masking, fast enough for megabytes."""
    n = len(payload)
    if n == 0:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def client_frame(opcode, payload=b"", fin=True):
    """One frame as a client must send it: masked, with a fresh key."""
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + mask_payload(payload, mask)


class RawWebSocket:
    """A minimal RFC 6455 client over a plain socket, for what a well-behaved
    library will not do: send invalid UTF-8 as text, never answer pings, or
    watch the exact frames the server sends. Frames are masked, as a client's
    must be; no extension is offered."""

    def __init__(self, hub, token=None, path="/v1/ingest", timeout=5.0, extra_headers=None, host=None):
        self.sock = socket.create_connection(("127.0.0.1", hub.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers.update(extra_headers or {})
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{hub.port}'}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            + "\r\n"
        )
        self.sock.sendall(request.encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise AssertionError(f"connection closed during handshake: {self.buffer!r}")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.status = int(self.status_line.split()[1])

    # -- sending

    def send_frame(self, opcode, payload=b"", fin=True):
        self.sock.sendall(client_frame(opcode, payload, fin))

    def send_text(self, text):
        self.send_frame(0x1, text.encode() if isinstance(text, str) else text)

    def send_json(self, message):
        self.send_text(json.dumps(message))

    # -- receiving

    def _read_exactly(self, n, deadline):
        while len(self.buffer) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no frame in time")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by the server")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv_frame(self, timeout=5.0):
        """The next frame as (opcode, payload); raises EOFError on a closed
        connection and TimeoutError when none arrives in time."""
        opcode, payload, _ = read_frame(self._read_exactly, time.monotonic() + timeout)
        return opcode, payload

    def recv_json(self, timeout=5.0):
        """The next text message, parsed; answers pings on the way."""
        deadline = time.monotonic() + timeout
        while True:
            opcode, payload = self.recv_frame(max(0.0, deadline - time.monotonic()))
            if opcode == 0x9:
                self.send_frame(0xA, payload)
            elif opcode == 0x1:
                return json.loads(payload)
            elif opcode == 0x8:
                raise EOFError(f"close frame {self.parse_close(payload)}")

    @staticmethod
    def parse_close(payload):
        if len(payload) >= 2:
            return struct.unpack("!H", payload[:2])[0], payload[2:].decode("utf-8", "replace")
        return None, ""

    def close_frame(self, timeout=5.0):
        """Reads (answering pings) until the server's close frame; returns
        (code, reason), or (None, "") when the TCP connection ends without one."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                opcode, payload = self.recv_frame(max(0.0, deadline - time.monotonic()))
                if opcode == 0x9:
                    self.send_frame(0xA, payload)
                elif opcode == 0x8:
                    return self.parse_close(payload)
        except EOFError:
            return None, ""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def close_info(device, timeout=5.0):
    """Reads a `Device` until the server closes it; returns (code, reason) the server sent."""
    try:
        while True:
            device.ws.recv(timeout=timeout)
    except ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")


# -- Prometheus text

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def parse_prometheus(text):
    """{(name, frozenset(labels.items())): value} from Prometheus text format."""
    samples = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = _SAMPLE.match(line.strip())
        assert match, f"not a Prometheus sample line: {line!r}"
        name, labels, value = match.groups()
        pairs = {}
        if labels:
            rest = labels
            while rest.strip():
                label = _LABEL.match(rest)
                assert label, f"bad labels in {line!r}"
                pairs[label.group(1)] = label.group(2)
                rest = rest[label.end():]
        samples[(name, frozenset(pairs.items()))] = float(value)
    return samples


def scrape(hub):
    """GET /metrics without a token; returns the parsed samples."""
    response = httpx.get(f"{hub.url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    return parse_prometheus(response.text)


def metric_value(samples, name, **labels):
    """One sample's value, or None when absent; labels match exactly, in any order."""
    return samples.get((name, frozenset(labels.items())))


# -- TLS

def make_self_signed(directory: Path):
    """A self-signed certificate for 127.0.0.1/localhost; returns (cert, key) paths."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


class TLSHub(Hub):
    """A hub serving https/wss with `cert`; `start()` polls https://…/healthz."""

    def __init__(self, workdir: Path, cert: Path, key: Path, extra_args=(), env=None):
        super().__init__(workdir, ["--tls-cert", str(cert), "--tls-key", str(key), *extra_args], env)
        self.cert = cert

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"wss://127.0.0.1:{self.port}/v1/ingest"

    def ssl_context(self):
        return ssl.create_default_context(cafile=str(self.cert))

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1, verify=self.ssl_context()).status_code == 200
        except httpx.HTTPError:
            return False


@pytest.fixture
def tls_hub_factory(tmp_path):
    """Like `hub_factory`, for hubs serving TLS with a fresh self-signed pair."""
    hubs = []
    cert, key = make_self_signed(tmp_path)

    def make(*extra_args, env=None):
        workdir = tmp_path / f"tlshub{len(hubs)}"
        workdir.mkdir()
        hub = TLSHub(workdir, cert, key, extra_args, env)
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()
