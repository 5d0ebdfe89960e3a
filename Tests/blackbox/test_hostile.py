"""Hostile clients, from the outside: each attack must get the contract's
answer (v1.1 "Bounds on input"), keep the hub's memory bounded (its VmRSS,
sampled while the attack runs), and cost nobody else anything: a well-behaved
device keeps ingesting meanwhile, its readings acknowledged after commit
within a few seconds.

Attacks: a WebSocket device that never reads its replies, an SSE client that
never reads, slowloris request heads, oversized heads, deeply nested and huge
JSON, thousands of silent connections, and failed-authentication floods."""
import base64
import http.client
import json
import os
import resource
import secrets
import selectors
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
from websockets.sync.client import connect as ws_connect

from websockets.exceptions import ConnectionClosed

from conftest import (
    RawWebSocket,
    client_frame,
    batch,
    bearer,
    close_info,
    read_frame,
    get_json,
    now_ms,
    open_device,
    reading,
    stored_readings,
    wait_for,
)
from telehub_process import rss_kib

KIB = 1024
MIB = 1024 * 1024
# The hub's resident memory may grow by less than this during any one attack.
# Generous (caches warm up, allocators keep what they freed) yet far below what
# an unbounded buffer reaches under these attacks.
GROWTH_LIMIT_MIB = 64
# A well-behaved device's reading must be acknowledged (after commit) this fast.
INGEST_WITHIN = 5.0
# The contract's head deadline, and the margin a test allows on top of it.
HEAD_DEADLINE = 10.0
HEAD_DEADLINE_SLACK = 2.5

CLOSED_ERRORS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


# ---------------------------------------------------------------------------
# Measuring the hub



class MemoryWatch:
    """Samples the hub's VmRSS every 50 ms while the `with` block runs;
    `check()` asserts the peak stayed within GROWTH_LIMIT_MIB of the start."""

    def __init__(self, hub, interval=0.05):
        self.pid = hub.proc.pid
        self.interval = interval
        self.baseline = self.peak = rss_kib(self.pid)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self.stop.wait(self.interval):
            self._once()

    def _once(self):
        try:
            self.peak = max(self.peak, rss_kib(self.pid))
        except (OSError, StopIteration):  # the process is gone; `assert_healthy` says so
            self.stop.set()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)
        self._once()

    @property
    def growth_mib(self):
        return (self.peak - self.baseline) / 1024

    def check(self, what, limit=GROWTH_LIMIT_MIB):
        self._once()
        assert self.growth_mib < limit, (
            f"hub RSS grew {self.growth_mib:.1f} MiB ({self.baseline / 1024:.1f} -> {self.peak / 1024:.1f} MiB) "
            f"{what}; the bound is {limit} MiB")


def still_serving(hub, bystander):
    """After an attack: the hub is healthy, takes a reading, and lost none."""
    assert_healthy(hub)
    bystander.ingest()
    bystander.check_all_stored()


def assert_healthy(hub):
    """The process is still running and answers /healthz."""
    assert hub.proc.poll() is None, f"the hub exited with {hub.proc.returncode}; see {hub.log_path}"
    response = httpx.get(f"{hub.url}/healthz", timeout=5)
    assert response.status_code == 200 and response.json() == {"status": "ok"}, response.text


class Bystander:
    """A well-behaved device on the same hub. `ingest()` sends a reading over
    a new WebSocket and another over HTTP POST; each must be acknowledged within
    INGEST_WITHIN seconds, and, since an ack comes after the commit, be in the
    database at once. `ingest_on()` does the same over an open session."""

    def __init__(self, hub, name="bystander"):
        self.hub, self.name = hub, name
        self.token = hub.device_token(name)
        self.seq = 0
        self.t0 = now_ms() - 600_000
        self.expected = {}

    def _next(self):
        self.seq += 1
        ts = self.t0 + self.seq
        self.expected[("v", ts)] = self.seq
        return reading(self.seq, {"v": self.seq}, ts=ts)

    def _check_stored(self, message, started, how):
        elapsed = time.monotonic() - started
        assert elapsed < INGEST_WITHIN, f"{self.name}: {how} took {elapsed:.1f} s"
        stored = stored_readings(self.hub, self.name)
        assert stored.get(("v", message["ts"])) == message["seq"], f"{self.name}: acked {message} not stored ({how})"

    def ingest_on(self, device):
        message, started = self._next(), time.monotonic()
        device.expect_ack(message, timeout=INGEST_WITHIN)
        self._check_stored(message, started, "ack over an open WebSocket")

    def ingest(self):
        message, started = self._next(), time.monotonic()
        with open_device(self.hub, self.token, compression=None) as device:
            device.expect_ack(message, timeout=INGEST_WITHIN)
        self._check_stored(message, started, "connect and ack over a new WebSocket")
        message, started = self._next(), time.monotonic()
        response = httpx.post(f"{self.hub.url}/v1/ingest", headers=bearer(self.token), json=message,
                              timeout=INGEST_WITHIN)
        assert response.status_code == 200 and response.json() == {"ack": message["seq"]}, response.text
        self._check_stored(message, started, "HTTP POST")

    def check_all_stored(self):
        stored = stored_readings(self.hub, self.name)
        assert {k: stored.get(k) for k in self.expected} == self.expected


def run_in_thread(target, *args):
    """Runs `target(*args)` in a daemon thread; `join()` on the result re-raises its exception."""
    outcome = {}

    def body():
        try:
            outcome["value"] = target(*args)
        except BaseException as error:  # noqa: BLE001 - re-raised in join
            outcome["error"] = error

    thread = threading.Thread(target=body, daemon=True)
    thread.start()

    def join(timeout=60):
        thread.join(timeout)
        assert not thread.is_alive(), f"{target.__name__} did not finish in {timeout} s"
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    return join


# ---------------------------------------------------------------------------
# Raw clients


def tcp_connect(hub, timeout=5.0, rcvbuf=None, source=None):
    """A plain TCP connection to the hub; a small `rcvbuf` is set before
    connecting, so the window the client advertises is small from the start."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if source:
        sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect(("127.0.0.1", hub.port))
    return sock


class RawDevice:
    """A WebSocket device over a plain socket that it controls entirely (its
    receive buffer, when and whether it reads). Reading mirrors conftest's
    RawWebSocket, with a reset counted as the end of the connection."""

    def __init__(self, hub, token, rcvbuf=None, timeout=5.0):
        self.sock = tcp_connect(hub, timeout=timeout, rcvbuf=rcvbuf)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            f"GET /v1/ingest HTTP/1.1\r\nHost: 127.0.0.1:{hub.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        ).encode())
        self.buffer = b""
        self.received = 0
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            assert chunk, f"connection closed during the handshake: {self.buffer!r}"
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        assert status.split()[1] == b"101", status

    def _read_exactly(self, n, deadline):
        while len(self.buffer) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                raise TimeoutError from None
            except CLOSED_ERRORS:
                raise EOFError("reset") from None
            if not chunk:
                raise EOFError("eof")
            self.received += len(chunk)
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv_frame(self, deadline):
        opcode, payload, masked = read_frame(self._read_exactly, deadline)
        assert not masked, "a server must not mask its frames"
        return opcode, payload

    def recv_json(self, timeout=5.0):
        """The next text message, parsed (other frames are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            opcode, payload = self.recv_frame(deadline)
            if opcode == 0x1:
                return json.loads(payload)
            assert opcode != 0x8, f"closed: {RawWebSocket.parse_close(payload)}"

    def read_until_closed(self, deadline):
        """Reads every frame (answering nothing) until the connection ends.
        Returns ("close", code, frames before it), ("eof"|"reset", None, frames)
        or ("open", None, frames) when it is still open at `deadline`."""
        frames = 0
        try:
            while True:
                opcode, payload = self.recv_frame(deadline)
                if opcode == 0x8:
                    return "close", RawWebSocket.parse_close(payload)[0], frames
                frames += 1
        except EOFError as end:
            return str(end), None, frames
        except TimeoutError:
            return "open", None, frames

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def read_http_reply(sock, timeout=5.0):
    """Reads an HTTP response head. Returns (status, headers) or (None, why)
    when the connection ended ("eof"/"reset") or stayed silent ("timeout")."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\r\n\r\n" not in data:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, "timeout"
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return None, "timeout"
        except CLOSED_ERRORS:
            return None, "reset"
        if not chunk:
            return (None, "eof") if not data else (None, f"eof after {data[:80]!r}")
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    status_line, *lines = head.split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers


def send_all_or_closed(sock, data, timeout=5.0):
    """"sent", "closed" (the hub closed or reset the connection) or "stalled"
    (the hub stopped reading)."""
    sock.settimeout(timeout)
    try:
        sock.sendall(data)
        return "sent"
    except socket.timeout:
        return "stalled"
    except CLOSED_ERRORS:
        return "closed"


def watch_until_closed(socks, deadline, drip=None):
    """Waits until the hub ends each connection (EOF or reset; any bytes it
    sends first, such as a 408, are collected). With `drip`, sends each open
    connection its next byte of `drip` every second. Returns
    ({sock: monotonic time it ended}, {sock: bytes received})."""
    selector = selectors.DefaultSelector()
    for sock in socks:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    ended, received = {}, {sock: b"" for sock in socks}
    sent = {sock: 0 for sock in socks}
    next_drip = time.monotonic()

    def end(sock):
        if sock not in ended:
            ended[sock] = time.monotonic()
            selector.unregister(sock)

    try:
        while len(ended) < len(socks) and time.monotonic() < deadline:
            if drip is not None and time.monotonic() >= next_drip:
                next_drip += 1.0
                for sock in socks:
                    if sock in ended or sent[sock] >= len(drip):
                        continue
                    try:
                        sent[sock] += sock.send(drip[sent[sock]:sent[sock] + 1])
                    except BlockingIOError:
                        pass
                    except (*CLOSED_ERRORS, OSError):
                        end(sock)
            timeout = max(0.0, min(0.1, deadline - time.monotonic()))
            for key, _ in selector.select(timeout):
                sock = key.fileobj
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                except (*CLOSED_ERRORS, OSError):
                    chunk = b""
                if chunk:
                    received[sock] += chunk
                else:
                    end(sock)
    finally:
        selector.close()
    return ended, received


# ---------------------------------------------------------------------------
# 1. A device that sends and sends but never reads its replies


def test_websocket_device_that_never_reads_is_closed_1008_and_memory_stays_bounded(hub):
    """Pings (ids of 120 bytes, within the 128-byte bound, so every one is
    valid and answered with a pong) and small batches, sent as fast as the hub
    takes them, by a client with a 4 KiB receive buffer that never reads. Its
    replies pile up in the hub: past 1000 messages or 1 MiB the hub must close
    the connection with 1008 (so sending fails, or the close frame is there
    when the client finally reads), while its memory stays bounded and another
    device ingests as usual. The flood goes on for up to 30 s: the kernel's
    buffers take some 4 MB of pongs before any pile up in the hub, and a debug
    build on a busy machine answers only a few thousand pings a second."""
    bystander = Bystander(hub)
    bystander.ingest()  # warm up before the baseline
    attacker = RawDevice(hub, hub.device_token("deaf"), rcvbuf=4096)
    ids = [f"{i:03d}-" + "p" * 116 for i in range(200)]
    assert {len(i.encode()) for i in ids} == {120}  # within the 128-byte bound: each is answered with a pong
    pings = b"".join(client_frame(0x1, ('{"type":"ping","id":"%s"}' % i).encode()) for i in ids)

    def batch_frame(seq):
        return client_frame(0x1, (
            '{"type":"batch","seq":%d,"readings":[{"metrics":{"a":%d}},{"metrics":{"b":%d}}]}' % (seq, seq, seq)
        ).encode())

    # What it floods with is valid: a pong for each ping, an ack for each batch
    # (so the hub has no invalid messages to close the connection for).
    assert attacker.recv_json()["type"] == "hello"
    attacker.sock.sendall(pings[:len(pings) // 200] + batch_frame(1))
    assert attacker.recv_json() == {"type": "pong", "id": ids[0]}
    assert attacker.recv_json() == {"type": "ack", "seq": 1}

    def flood():
        """Sends until the hub ends the connection, stops reading, or 30 s pass."""
        seq, sent, started = 1, 0, time.monotonic()
        while time.monotonic() - started < 30:
            seq += 1
            outcome = send_all_or_closed(attacker.sock, pings + batch_frame(seq), timeout=2.0)
            if outcome != "sent":
                return outcome, sent, time.monotonic() - started
            sent += len(ids)
        return "sent for 30 s", sent, time.monotonic() - started

    try:
        with MemoryWatch(hub) as memory:
            flooding = run_in_thread(flood)
            time.sleep(1.0)
            bystander.ingest()  # while the replies pile up
            outcome, pings_sent, flood_seconds = flooding(timeout=50)
            kind, code, frames = attacker.read_until_closed(deadline=time.monotonic() + 10)
        assert kind != "open", (
            f"after {pings_sent} unread pings ({outcome} after {flood_seconds:.1f} s) the hub had not closed the "
            f"connection; the client then read {frames} frames ({attacker.received} bytes) in 10 s")
        if kind == "close":
            assert code == 1008, f"closed with {code}, expected 1008"
            # Bounded: what reached the client is kernel buffers plus the bound, not every reply.
            assert attacker.received < 8 * MIB, f"{attacker.received} bytes of replies before the close"
        # Tighter than elsewhere: only replies pile up here, and the bound on them is 1 MiB.
        memory.check(f"while a device sent {pings_sent} pings it never read the answers to", limit=32)
    finally:
        attacker.close()
    assert_healthy(hub)
    bystander.ingest()
    bystander.check_all_stored()


# ---------------------------------------------------------------------------
# 2. A stream client that never reads


def test_stream_client_that_never_reads_is_disconnected_and_memory_stays_bounded(hub_factory):
    """An SSE client with a 4 KiB receive buffer opens /v1/stream and never
    reads, while 30,000 reading events (~7 MB of stream) are committed. The hub
    must disconnect it (the socket reaches EOF before the last event was
    delivered), its memory must stay bounded, and another device ingests
    meanwhile."""
    hub = hub_factory("--rate-limit", "0").start()
    reader = hub.read_token()
    bystander = Bystander(hub)
    bystander.ingest()
    stalled = tcp_connect(hub, rcvbuf=4096)
    try:
        stalled.sendall(f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                        f"Authorization: Bearer {reader}\r\n\r\n".encode())
        stalled.settimeout(5)
        peeked = wait_for(lambda: len(head := stalled.recv(64, socket.MSG_PEEK)) >= 12 and head,
                          message="the stream's response head")  # peeked, not read: the buffer stays full
        assert peeked.startswith(b"HTTP/1.1 200"), peeked
        flood_token = hub.device_token("flood")
        base = now_ms() - 3_600_000
        names = [f"a_rather_long_metric_name_for_the_stream_{k}" for k in range(3)]
        batches = 30

        def flood():
            with open_device(hub, flood_token, compression=None) as device:
                for seq in range(1, batches + 1):
                    readings = [{"ts": base + seq * 1000 + i, "metrics": {n: i for n in names}} for i in range(1000)]
                    if seq == batches:
                        readings[-1]["metrics"]["the_last_one"] = 1
                    device.expect_ack(batch(seq, readings), timeout=30)

        with MemoryWatch(hub) as memory:
            flooding = run_in_thread(flood)
            time.sleep(1.0)
            bystander.ingest()  # while the events flow
            flooding(timeout=120)
            # Disconnected, not just left behind: once the buffers drain the socket reaches EOF.
            deadline = time.monotonic() + 15
            received, ended = b"", None
            while time.monotonic() < deadline:
                stalled.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = stalled.recv(1 << 16)
                except socket.timeout:
                    break
                except CLOSED_ERRORS:
                    ended = "reset"
                    break
                if not chunk:
                    ended = "eof"
                    break
                received += chunk
        assert ended, (f"the stalled stream client was not disconnected (it read {len(received)} bytes, then the "
                       f"stream stayed open)")
        assert b"the_last_one" not in received, "the stalled client got every event: it was never disconnected"
        memory.check("while a stream client read nothing of 30,000 events")
    finally:
        stalled.close()
    assert_healthy(hub)
    bystander.ingest()
    bystander.check_all_stored()
    assert len(stored_readings(hub, "flood")) == batches * 1000 * 3 + 1


# ---------------------------------------------------------------------------
# 3. Slowloris


def test_slowloris_heads_are_closed_within_the_head_deadline(hub):
    """Fifty connections each send a request head one byte a second (it could
    never be complete in time). Each must be closed within ~12 s of connecting
    (head deadline 10 s). A client whose head arrives in pieces over 4 s is
    still served; another device ingests meanwhile; memory stays bounded."""
    bystander = Bystander(hub)
    bystander.ingest()
    drip = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 100
    socks, connected = [], {}
    try:
        with MemoryWatch(hub) as memory:
            for _ in range(50):
                sock = tcp_connect(hub)
                connected[sock] = time.monotonic()
                socks.append(sock)
            deadline = max(connected.values()) + HEAD_DEADLINE + HEAD_DEADLINE_SLACK

            def patient_but_slow():
                """A legitimate slow client: its head takes 4 s, well within the deadline."""
                with tcp_connect(hub, timeout=10) as sock:
                    pieces = [b"GET /healthz HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"X-Slow-But-Fine: 1\r\n",
                              b"Connection: close\r\n", b"\r\n"]
                    for piece in pieces:
                        sock.sendall(piece)
                        time.sleep(1.0)
                    return read_http_reply(sock, timeout=5)

            slow = run_in_thread(patient_but_slow)
            watching = run_in_thread(watch_until_closed, socks, deadline, drip)
            time.sleep(2.0)
            bystander.ingest()  # while fifty heads trickle in
            assert slow(timeout=20)[0] == 200, "a head sent over 4 s was not served"
            ended, received = watching(timeout=30)
            memory.check("with fifty slowloris connections")
        late = [round(time.monotonic() - connected[s], 1) for s in socks if s not in ended]
        assert not late, f"{len(late)} of 50 slowloris connections still open after {late[0]} s"
        durations = sorted(ended[s] - connected[s] for s in socks)
        assert durations[-1] <= HEAD_DEADLINE + HEAD_DEADLINE_SLACK, f"closed after up to {durations[-1]:.1f} s"
        for sock in socks:
            assert not received[sock].startswith(b"HTTP/1.1 2"), received[sock][:100]
    finally:
        for sock in socks:
            sock.close()
    still_serving(hub, bystander)


# ---------------------------------------------------------------------------
# 4. Oversized request heads


def big_head(path, size, extra="", fields=1):
    """A GET head of `size` bytes whose padding is spread over `fields` headers.
    (Fewer than 100 fields: the contract bounds the head's bytes, and a cap on
    the number of fields at 100, common to HTTP servers, is left alone.)"""
    start = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}"
    end = "Connection: close\r\n\r\n"
    room = size - len(start) - len(end)
    each = room // fields
    headers = "".join(f"X-Pad-{i:03d}: " + "p" * (each - 13 + (room % fields if i == 0 else 0)) + "\r\n"
                      for i in range(fields))
    head = (start + headers + end).encode()
    assert len(head) == size, (len(head), size)
    return head


def assert_refused_head(hub, head, what):
    """A head over 16 KiB: answered 431, or the connection closed without a response."""
    with tcp_connect(hub) as sock:
        outcome = send_all_or_closed(sock, head)
        status, detail = read_http_reply(sock)
    if status is None:
        assert detail in ("eof", "reset"), f"{what}: {outcome}, then {detail} (neither 431 nor closed)"
    else:
        assert status == 431, f"{what} ({len(head)} bytes) answered {status}, expected 431 or a closed connection"


def test_request_head_over_16_kib_is_refused_and_8_kib_is_served(hub):
    bystander = Bystander(hub)
    bystander.ingest()
    reader = hub.read_token()
    device_token = hub.device_token("big-head")
    with MemoryWatch(hub) as memory:
        # Well within the bound: served as usual, including a WebSocket upgrade.
        pad = {"X-Pad": "p" * 8000}
        assert httpx.get(f"{hub.url}/healthz", headers=pad, timeout=5).status_code == 200
        assert httpx.get(f"{hub.url}/v1/devices", headers={**pad, **bearer(reader)}, timeout=5).status_code == 200
        with ws_connect(hub.ws_url, additional_headers={**pad, **bearer(device_token)}, compression=None,
                        open_timeout=10) as ws:
            assert '"hello"' in ws.recv(timeout=5)
        for size, fields in ((8 * KIB, 80), (15 * KIB, 1), (15 * KIB, 50)):
            with tcp_connect(hub) as sock:
                sock.sendall(big_head("/healthz", size, fields=fields))
                assert read_http_reply(sock)[0] == 200, f"a head of {size} bytes in {fields} headers was refused"
        # Past the bound: 431 or closed, in either shape, on any route.
        assert_refused_head(hub, big_head("/healthz", 16 * KIB + 512), "a head of 16.5 KiB in one header")
        assert_refused_head(hub, big_head("/healthz", 20 * KIB), "one 20 KiB header")
        assert_refused_head(hub, big_head("/healthz", 20 * KIB, fields=90), "a 20 KiB head in 90 headers")
        assert_refused_head(hub, big_head("/v1/devices", 20 * KIB, extra=f"Authorization: Bearer {reader}\r\n"),
                            "an authenticated read with a 20 KiB header")
        upgrade = (f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                   f"Authorization: Bearer {device_token}\r\n")
        assert_refused_head(hub, big_head("/v1/ingest", 20 * KIB, extra=upgrade), "a WebSocket upgrade of 20 KiB")

        # Twenty connections push a header that never ends (up to 4 MiB each):
        # each must be refused, and nothing buffers what they send.
        def endless():
            with tcp_connect(hub) as sock:
                outcome = send_all_or_closed(sock, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: ")
                for _ in range(64):
                    if outcome != "sent":
                        break
                    outcome = send_all_or_closed(sock, b"e" * (64 * KIB), timeout=3.0)
                return outcome, read_http_reply(sock)

        pushers = [run_in_thread(endless) for _ in range(20)]
        bystander.ingest()
        for join in pushers:
            outcome, (status, detail) = join(timeout=60)
            if status is None:
                assert detail in ("eof", "reset"), f"an endless header: {outcome}, then {detail}"
            else:
                assert status == 431, f"an endless header answered {status}"
        memory.check("with oversized request heads")
    assert_healthy(hub)
    bystander.ingest()
    bystander.check_all_stored()


# ---------------------------------------------------------------------------
# 5. Deeply nested and huge JSON from an authenticated device

LIMIT = 1_048_576  # the default maxMessageBytes
DEPTH = 100_000


def near_limit_batch(seq, t0, bad_last=False):
    """A batch of 1000 readings (maxBatch) of 14 metrics, just under 1 MiB;
    with `bad_last`, the last reading's last value is a string."""
    names = [f"metric_{k:02d}_" + "n" * 50 for k in range(14)]
    readings = [{"ts": t0 + i, "metrics": {n: i + k / 8 for k, n in enumerate(names)}} for i in range(1000)]
    if bad_last:
        readings[-1]["metrics"][names[-1]] = "not a number"
    text = json.dumps(batch(seq, readings), separators=(",", ":"))
    assert 0.9 * LIMIT < len(text) <= LIMIT, len(text)
    return text


def post(hub, token, text):
    return httpx.post(f"{hub.url}/v1/ingest", headers=bearer(token), content=text, timeout=30)


def hostile_messages(seq):
    """(what, JSON text at most 1 MiB, acceptable error codes)."""
    ping_id_room = LIMIT - len('{"type":"ping","id":""}')
    value_room = LIMIT - len('{"type":"reading","seq":%d,"metrics":{"v":""}}' % seq)
    name_room = LIMIT - len('{"type":"reading","seq":%d,"metrics":{"":1}}' % seq)
    digits_room = LIMIT - len('{"type":"reading","seq":%d,"metrics":{"v":}}' % seq)
    return [
        ("100000 unclosed [", "[" * DEPTH, {"invalid_json"}),
        ("100000 nested arrays", "[" * DEPTH + "]" * DEPTH, {"invalid_json", "invalid_message"}),
        ("100000 nested objects", '{"a":' * DEPTH + "1" + "}" * DEPTH, {"invalid_json", "invalid_message"}),
        ("nesting inside a reading",
         '{"type":"reading","seq":%d,"metrics":{"v":%s%s}}' % (seq, "[" * DEPTH, "]" * DEPTH),
         {"invalid_json", "invalid_message", "invalid_value"}),
        ("nesting in an unknown field",
         '{"type":"reading","seq":%d,"metrics":{"v":1},"x":%s%s}' % (seq, '{"a":' * DEPTH, "1" + "}" * DEPTH),
         {"invalid_json", "invalid_message"}),
        ("a 1 MiB ping id", '{"type":"ping","id":"%s"}' % ("i" * ping_id_room), {"invalid_message"}),
        ("a 1 MiB string value", '{"type":"reading","seq":%d,"metrics":{"v":"%s"}}' % (seq, "s" * value_room),
         {"invalid_value"}),
        ("a 1 MiB metric name", '{"type":"reading","seq":%d,"metrics":{"%s":1}}' % (seq, "n" * name_room),
         {"invalid_name"}),
        ("a number of a million digits", '{"type":"reading","seq":%d,"metrics":{"v":%s}}' % (seq, "9" * digits_room),
         {"invalid_value", "invalid_json"}),
        ("a seq of a million digits", '{"type":"reading","seq":%s,"metrics":{"v":1}}' % ("7" * (digits_room - 8)),
         {"invalid_message", "invalid_json"}),
        ("170000 escapes in a ping id", '{"type":"ping","id":"%s"}' % ("\\u00e9" * (ping_id_room // 6)),
         {"invalid_message"}),
    ]


def assert_error_code(reply, codes, what):
    assert isinstance(reply, dict) and reply.get("type") == "error", f"{what}: {reply!r:.300}"
    assert reply.get("code") in codes, f"{what}: code {reply.get('code')!r}, expected one of {sorted(codes)}"
    assert reply.get("retryable") is False, f"{what}: {reply!r:.300}"


def test_deeply_nested_and_huge_json_over_websocket_is_answered_not_fatal(hub):
    """Each hostile message within maxMessageBytes gets a non-retryable error
    of a fitting code and the session goes on (a pong, then an ack for a valid
    near-limit batch); one byte over closes with 1009; the hub stays up."""
    bystander = Bystander(hub)
    bystander.ingest()
    token, t0 = hub.device_token("nester"), now_ms() - 3_600_000
    with MemoryWatch(hub) as memory:
        with open_device(hub, token, compression=None, max_size=2 * LIMIT) as device:
            for n, (what, text, codes) in enumerate(hostile_messages(seq=1)):
                assert len(text.encode()) <= LIMIT, what
                assert_error_code(device.request(text, timeout=30), codes, what)
                # The connection stays open and the device goes on.
                assert device.request({"type": "ping", "id": f"after-{n}"}) == {"type": "pong", "id": f"after-{n}"}
            assert_error_code(device.request(near_limit_batch(2, t0, bad_last=True), timeout=30), {"invalid_value"},
                              "a near-limit batch with a bad last value")
            assert device.request(near_limit_batch(3, t0), timeout=30) == {"type": "ack", "seq": 3}
            with open_device(hub, bystander.token, compression=None) as other:
                bystander.ingest_on(other)
            # One byte over the limit closes with 1009. The hub closes on the frame's
            # header, so while the rest is still being sent the socket may be reset.
            try:
                device.send("[" * (LIMIT + 1))
            except (ConnectionResetError, BrokenPipeError, ConnectionClosed):
                pass
            else:
                assert close_info(device, timeout=10)[0] == 1009
        bystander.ingest()
        memory.check("while a device sent deeply nested and huge JSON")
    assert_healthy(hub)
    assert len(stored_readings(hub, "nester")) == 1000 * 14
    bystander.check_all_stored()


def test_deeply_nested_and_huge_json_over_http_is_answered_not_fatal(hub):
    """The same messages posted: 400 with the error object, 413 past the limit."""
    bystander = Bystander(hub)
    bystander.ingest()
    token, t0 = hub.device_token("poster"), now_ms() - 3_600_000
    with MemoryWatch(hub) as memory:
        for what, text, codes in hostile_messages(seq=1):
            response = post(hub, token, text)
            assert response.status_code == 400, f"{what}: {response.status_code} {response.text[:200]}"
            assert_error_code(response.json(), codes, what)
        response = post(hub, token, near_limit_batch(2, t0, bad_last=True))
        assert response.status_code == 400
        assert_error_code(response.json(), {"invalid_value"}, "a near-limit batch with a bad last value")
        response = post(hub, token, near_limit_batch(3, t0))
        assert response.status_code == 200 and response.json() == {"ack": 3}, response.text
        assert post(hub, token, "[" * (LIMIT + 1)).status_code == 413
        bystander.ingest()
        memory.check("while a device posted deeply nested and huge JSON")
    assert_healthy(hub)
    assert len(stored_readings(hub, "poster")) == 1000 * 14
    bystander.check_all_stored()


# ---------------------------------------------------------------------------
# 6. Thousands of connections that never say anything

SILENT = 2000


def raise_nofile(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target < needed:
        pytest.skip(f"RLIMIT_NOFILE hard limit {hard} is below the {needed} descriptors this test needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def test_thousands_of_silent_connections_are_closed_and_cost_bounded_memory(hub_factory):
    """2000 TCP connections that never send a byte: the hub keeps serving a
    device meanwhile, its memory stays bounded, and it closes every one of
    them within ~12 s (the head deadline)."""
    raise_nofile(SILENT * 2 + 1024)  # before the hub starts: it inherits the limit
    hub = hub_factory().start()
    bystander = Bystander(hub)
    bystander.ingest()
    socks, connected, lock = [], {}, threading.Lock()

    def open_many(count):
        for _ in range(count):
            sock = tcp_connect(hub, timeout=10)
            with lock:
                connected[sock] = time.monotonic()
                socks.append(sock)

    try:
        with MemoryWatch(hub) as memory:
            openers = [run_in_thread(open_many, SILENT // 4) for _ in range(4)]
            for join in openers:
                join(timeout=60)
            assert len(socks) == SILENT
            deadline = max(connected.values()) + HEAD_DEADLINE + HEAD_DEADLINE_SLACK
            watching = run_in_thread(watch_until_closed, list(socks), deadline)
            bystander.ingest()  # a new session among 2000 silent connections
            ended, _ = watching(timeout=60)
            memory.check(f"with {SILENT} silent connections")
        still_open = [s for s in socks if s not in ended]
        assert not still_open, f"{len(still_open)} of {SILENT} silent connections still open after the head deadline"
        slowest = max(ended[s] - connected[s] for s in socks)
        assert slowest <= HEAD_DEADLINE + HEAD_DEADLINE_SLACK, f"a silent connection lasted {slowest:.1f} s"
    finally:
        for sock in socks:
            sock.close()
    still_serving(hub, bystander)


# ---------------------------------------------------------------------------
# 7. Failed-authentication floods
#
# The attacker connects from 127.0.0.2 and 127.0.0.3 (all of 127/8 is
# loopback on Linux), so the hub sees addresses other than the bystander's
# 127.0.0.1, which must not be affected.


def attempt(hub, source, kind, token=None, forwarded_for=None):
    """One authentication attempt from `source` with a bad (or given) token,
    on a new connection: "http" is GET /v1/devices with a bearer, "ws" a
    WebSocket upgrade of /v1/ingest. Returns (status, Retry-After header)."""
    connection = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=5, source_address=(source, 0))
    extra = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    try:
        if kind == "http":
            headers = {**bearer(token or "thr_" + secrets.token_urlsafe(24)), **extra}
            connection.request("GET", "/v1/devices", headers=headers)
        else:
            headers = {**bearer(token or "thd_" + secrets.token_urlsafe(24)), "Upgrade": "websocket",
                       "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                       "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), **extra}
            connection.request("GET", "/v1/ingest", headers=headers)
        response = connection.getresponse()
        if response.status != 101:
            response.read()
        return response.status, response.getheader("Retry-After")
    finally:
        connection.close()


def assert_limited(status, retry_after, what):
    assert status == 429, f"{what}: {status}, expected 429"
    assert retry_after is not None and retry_after.isdigit(), f"{what}: Retry-After {retry_after!r}"
    assert 1 <= int(retry_after) <= 11, f"{what}: Retry-After {retry_after} for a 10 s window"
    return time.monotonic() + int(retry_after)  # when this address may be answered 401 again


def test_behind_a_trusted_proxy_failures_count_per_client_not_per_proxy(hub_factory):
    """Behind a load balancer every connection comes from it: failures are
    counted per client it names in X-Forwarded-For, so one client's flood
    does not lock the others out; a header from anyone else is ignored, so it
    cannot spread a flood over made-up addresses."""
    hub = hub_factory("--trusted-proxies", "127.0.0.5").start()
    for kind in ("http", "ws"):
        flooder = f"203.0.113.{1 if kind == 'http' else 2}"
        for i in range(20):
            assert attempt(hub, "127.0.0.5", kind, forwarded_for=f"198.51.100.9, {flooder}")[0] == 401, i
        assert_limited(*attempt(hub, "127.0.0.5", kind, forwarded_for=flooder), f"{kind} from the flooder")
        # Another client through the same proxy is still answered.
        assert attempt(hub, "127.0.0.5", kind, forwarded_for="203.0.113.50")[0] == 401
    # Not a trusted proxy: its header means nothing, the failures are its own.
    for i in range(20):
        assert attempt(hub, "127.0.0.6", "http", forwarded_for=f"192.0.2.{i}")[0] == 401, i
    assert_limited(*attempt(hub, "127.0.0.6", "http", forwarded_for="192.0.2.200"), "the untrusted sender")


def test_failed_authentication_flood_gets_429_with_retry_after_until_the_window_passes(hub):
    """Default limit (20 in 10 s): the 21st failure from an address, over HTTP
    or as an upgrade, gets 429 with Retry-After; other addresses are served;
    after Retry-After the address gets 401 again."""
    bystander = Bystander(hub)
    bystander.ingest()
    reader = hub.read_token()
    with MemoryWatch(hub) as memory:
        # Over HTTP, from 127.0.0.2: twenty failures are answered 401, then 429.
        started = time.monotonic()
        for i in range(20):
            assert attempt(hub, "127.0.0.2", "http")[0] == 401, f"failed attempt {i + 1} of 20"
        free_at = [assert_limited(*attempt(hub, "127.0.0.2", "http"), f"HTTP attempt {21 + i}") for i in range(3)]
        # Upgrades, from 127.0.0.3.
        for i in range(20):
            assert attempt(hub, "127.0.0.3", "ws")[0] == 401, f"failed upgrade {i + 1} of 20"
        free_at += [assert_limited(*attempt(hub, "127.0.0.3", "ws"), f"upgrade {21 + i}") for i in range(3)]
        assert time.monotonic() - started < 8, "the flood itself took too long to be within one window"

        # Other addresses are not affected.
        assert get_json(hub, "/v1/devices", reader)["devices"] is not None
        bystander.ingest()

        # Meanwhile a flood from a thousand addresses, a few failures each: the
        # table of addresses is bounded, and nothing else suffers.
        def spray(third):
            for fourth in range(1, 251):
                for _ in range(2):
                    assert attempt(hub, f"127.0.{third}.{fourth}", "http")[0] in (401, 429)

        sprayers = [run_in_thread(spray, third) for third in range(1, 5)]
        for join in sprayers:
            join(timeout=120)
        bystander.ingest()

        # Once the window has passed, failures are answered 401 again.
        time.sleep(max(0.0, max(free_at) + 1.0 - time.monotonic()))
        assert attempt(hub, "127.0.0.2", "http")[0] == 401, "still refused after Retry-After"
        assert attempt(hub, "127.0.0.3", "ws")[0] == 401, "upgrades still refused after Retry-After"
        memory.check("with a failed-authentication flood")
    assert_healthy(hub)
    bystander.check_all_stored()


@contextmanager
def under_attack(hub, situation):
    """A bystander device ingests before and during the attack and the hub's
    memory is watched; afterwards the hub is healthy and the bystander lost nothing."""
    bystander = Bystander(hub)
    bystander.ingest()
    with MemoryWatch(hub) as memory:
        yield
        bystander.ingest()
        memory.check(situation)
    assert_healthy(hub)
    bystander.check_all_stored()


def test_auth_fail_limit_counts_http_and_websocket_failures_together(hub_factory):
    """`--auth-fail-limit 5`: failures are counted per address, whatever the route."""
    hub = hub_factory("--auth-fail-limit", "5").start()
    with under_attack(hub, "with a failed-authentication flood"):
        for kind in ("http", "http", "http", "ws", "ws"):
            assert attempt(hub, "127.0.0.2", kind)[0] == 401
        assert_limited(*attempt(hub, "127.0.0.2", "http"), "HTTP after 5 failures")
        assert_limited(*attempt(hub, "127.0.0.2", "ws"), "upgrade after 5 failures")
        assert attempt(hub, "127.0.0.3", "http")[0] == 401  # another address has its own count


def test_auth_fail_limit_zero_turns_the_limit_off(hub_factory):
    """`--auth-fail-limit 0`: 90 failures from one address, every one a 401."""
    hub = hub_factory("--auth-fail-limit", "0").start()
    with under_attack(hub, "with a failed-authentication flood and no limit"):
        statuses = [attempt(hub, "127.0.0.2", "http")[0] for _ in range(60)]
        statuses += [attempt(hub, "127.0.0.2", "ws")[0] for _ in range(30)]
        assert statuses == [401] * 90, f"with --auth-fail-limit 0: {sorted(set(statuses))}"
