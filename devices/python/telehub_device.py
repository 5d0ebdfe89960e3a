#!/usr/bin/env python3
"""Telehub reference device client: a durable offline buffer and a WebSocket
sender that never loses or duplicates a reading.

    pip install websockets          # 13 or newer
    python3 -m telehub_device --url ws://127.0.0.1:8080/v1/ingest \\
        --token thd_... --buffer ./device.sqlite --demo

In a program::

    import asyncio
    from telehub_device import TelehubDevice

    async def main():
        async with TelehubDevice("ws://hub:8080/v1/ingest", "thd_...", "device.sqlite") as device:
            while True:
                device.send({"temperature": read_sensor()})
                await asyncio.sleep(1)

    asyncio.run(main())

How it works (see README.md next to this file for the details):

* `send()` appends a reading to an SQLite buffer at once, connected or not.
* While connected, the newest unsent readings (up to `batch_size`) become a
  message with the next `seq`; the seq is persisted with the assignment, before
  the message is first sent, and the message never changes afterwards: it is
  resent as-is until the hub acknowledges it or refuses it for good.
* A cumulative `ack` deletes the readings of every message up to it; `hello`
  does the same up to `lastSeq`, then the client resends what is left in seq
  order (go-back-N), then new messages.
* A retryable error (`rate_limited`, `overloaded`) for message S: wait
  `retryAfterMs`, then resend S and everything after it, in order. A
  non-retryable error: the message will never be stored; its readings are
  deleted and counted as `rejected`.
* Reconnects use exponential backoff with full jitter.

Only the standard library and `websockets` are used.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import logging
import math
import os
import random
import re
import sqlite3
import ssl as ssl_module  # the constructor has an `ssl` parameter
import sys
import threading
import time
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Iterable, Mapping, Optional

try:  # websockets >= 13: the asyncio implementation
    from websockets.asyncio.client import connect as _connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake
    from websockets.exceptions import InvalidStatus as _RefusedUpgrade

    def _ws_connect(url, headers, **kwargs):
        return _connect(url, additional_headers=headers, **kwargs)

except ImportError:  # pragma: no cover - exercised with websockets 10-12 (Debian bookworm ships 10.4)
    try:
        from websockets.client import connect as _connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake
        from websockets.exceptions import InvalidStatusCode as _RefusedUpgrade

        def _ws_connect(url, headers, **kwargs):
            return _connect(url, extra_headers=headers, **kwargs)

    except ImportError:
        _ws_connect = None

        class ConnectionClosed(Exception):  # type: ignore[no-redef]
            pass

        InvalidHandshake = _RefusedUpgrade = ConnectionClosed  # type: ignore[misc]


def _refused_status(error) -> Optional[int]:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None) or getattr(error, "status_code", None)


def ingest_url(address: str) -> str:
    """The WebSocket address of a hub's ingest endpoint, from whichever
    address a person has: the one `telehub serve` prints (http://host:8080),
    https://..., or a full ws(s)://host/v1/ingest. http becomes ws, https wss,
    no scheme means ws; a path not ending in /v1/ingest gets it appended (a hub
    behind a proxy under /telehub is reached at /telehub/v1/ingest). The same
    rules as the Swift SDK's IngestEndpoint. Raises ValueError for an address
    that names no hub."""
    text = (address or "").strip()
    if not text or len(text) > 2048:
        raise ValueError("give the hub's address, e.g. http://127.0.0.1:8080")
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "ws", text
    schemes = {"ws": "ws", "http": "ws", "wss": "wss", "https": "wss"}
    if scheme.lower() not in schemes:
        raise ValueError(f"unsupported scheme {scheme!r} in {address!r}: use http, https, ws or wss")
    rest = re.split(r"[?#]", rest, maxsplit=1)[0]
    authority, slash, path = rest.partition("/")
    if not authority or " " in authority or "@" in authority:
        raise ValueError(f"no host in the address {address!r}")
    path = ("/" + path if slash else "").rstrip("/")
    if not path.endswith("/v1/ingest"):
        path += "/v1/ingest"
    return f"{schemes[scheme.lower()]}://{authority}{path}"

__all__ = ["TelehubDevice", "ReadingBuffer", "Backoff", "TokenBucket", "Counters", "ingest_url", "main"]
__version__ = "1.0"

log = logging.getLogger("telehub_device")

METRIC_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
MAX_METRICS = 256
MIN_TS = 946_684_800_000  # 2000-01-01T00:00:00Z, the hub's lower bound
# Bytes of `{"type":"batch","seq":N,"readings":[]}` and of `{"ts":N,"metrics":}` plus a comma,
# with room for 20-digit numbers: used to keep a message under hello.maxMessageBytes.
_MESSAGE_OVERHEAD = 64
_READING_OVERHEAD = 40

STATES = ("disconnected", "connecting", "connected", "backing_off", "stopped")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def validate_reading(metrics: Mapping, ts: Optional[int]) -> None:
    """Raises ValueError for what the hub would reject (so that one bad reading
    never takes a whole batch down with it). The hub's upper bound on `ts` (ten
    minutes ahead of its clock) is not checked: the device cannot know it."""
    if not isinstance(metrics, Mapping) or not metrics:
        raise ValueError("metrics must be a non-empty dict of name -> number")
    if len(metrics) > MAX_METRICS:
        raise ValueError(f"a reading has at most {MAX_METRICS} metrics, got {len(metrics)}")
    for name, value in metrics.items():
        if not isinstance(name, str) or not METRIC_NAME.match(name):
            raise ValueError(f"invalid metric name {name!r} (must match {METRIC_NAME.pattern})")
        if isinstance(value, bool):
            continue
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"metric {name!r}: expected a finite number or a bool, got {value!r}")
    if ts is not None:
        if isinstance(ts, bool) or not isinstance(ts, int):
            raise ValueError(f"ts must be an integer (ms since the Unix epoch), got {ts!r}")
        if ts < MIN_TS:
            raise ValueError(f"ts {ts} is before 2000-01-01; is the device clock set?")


# ---------------------------------------------------------------------------
# The durable buffer


@dataclass(frozen=True)
class Counters:
    """A snapshot of a client's counters. `sent`, `acked`, `rejected`,
    `dropped_full` and `reconnects` count since this object was created (the
    process started); `buffered` is what the buffer file holds now, from any
    earlier run too. Always: readings buffered at start + sent == acked +
    rejected + dropped_full + buffered."""

    sent: int = 0
    acked: int = 0
    buffered: int = 0
    reconnects: int = 0
    rejected: int = 0
    dropped_full: int = 0
    in_flight_messages: int = 0


class ReadingBuffer:
    """Readings waiting for an ack, in an SQLite file.

    Table `reading(id, ts, metrics, message)`: `message` is the seq the reading
    was assigned to, NULL while unsent. Table `meta` holds `next_seq`, written
    in the same transaction that assigns a message, so a seq is durable before
    the message is first sent and never reused after a restart.

    Bounded to `max_buffered` readings: when an append would exceed it, the
    OLDEST UNSENT readings are deleted and counted in `dropped_full`. Readings
    already assigned to a message are never dropped (the message is immutable
    and may already be stored), so the file can hold at most `max_buffered`
    plus the readings of in-flight messages (window x batch size).

    Thread-safe: every method holds one lock.
    """

    def __init__(self, path: str, max_buffered: int = 1_000_000, synchronous: str = "FULL"):
        if max_buffered < 1:
            raise ValueError("max_buffered must be at least 1")
        synchronous = str(synchronous).upper()
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, not {synchronous!r}")
        self.path = str(path)
        self.max_buffered = max_buffered
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed append, assignment or ack survives a power cut. The
        # seq assignment must: a seq reused for other readings would be taken
        # by the hub for a duplicate and those readings lost.
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(
            """
            BEGIN IMMEDIATE;
            CREATE TABLE IF NOT EXISTS reading (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                ts INTEGER NOT NULL,
                metrics TEXT NOT NULL,
                message INTEGER
            );
            CREATE INDEX IF NOT EXISTS reading_unsent ON reading(id) WHERE message IS NULL;
            CREATE INDEX IF NOT EXISTS reading_message ON reading(message) WHERE message IS NOT NULL;
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT OR IGNORE INTO meta(key, value) VALUES ('next_seq', 1);
            COMMIT;
            """
        )
        self.next_seq = self._db.execute("SELECT value FROM meta WHERE key = 'next_seq'").fetchone()[0]
        self._assigned: dict[int, int] = dict(
            self._db.execute("SELECT message, COUNT(*) FROM reading WHERE message IS NOT NULL GROUP BY message")
        )
        self._seqs = sorted(self._assigned)
        self._unsent = self._db.execute("SELECT COUNT(*) FROM reading WHERE message IS NULL").fetchone()[0]
        self.initially_buffered = self.buffered
        # Counters since this object was created.
        self.sent = 0
        self.acked = 0
        self.rejected = 0
        self.dropped_full = 0

    # -- plumbing

    def _tx(self):
        db = self._db

        class _Tx:
            def __enter__(self_):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self_, exc_type, exc, tb):
                db.execute("COMMIT" if exc_type is None else "ROLLBACK")

        return _Tx()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- sizes

    @property
    def buffered(self) -> int:
        return self._unsent + sum(self._assigned.values())

    @property
    def unsent(self) -> int:
        return self._unsent

    @property
    def assigned_seqs(self) -> list[int]:
        """Seqs of messages assigned and neither acked nor rejected, ascending."""
        return list(self._seqs)

    def message_count(self, seq: int) -> int:
        return self._assigned.get(seq, 0)

    def is_assigned(self, seq: int) -> bool:
        return seq in self._assigned

    def next_assigned_after(self, seq: int) -> Optional[int]:
        i = bisect.bisect_right(self._seqs, seq)
        return self._seqs[i] if i < len(self._seqs) else None

    # -- appending

    def append(self, metrics: Mapping, ts: Optional[int] = None) -> None:
        self.append_many([(metrics, ts)])

    def append_many(self, readings: Iterable) -> int:
        """Appends readings, each `(metrics, ts)` or `{"metrics":..., "ts":...}`,
        in one transaction. `ts` defaults to now. Validates all of them first
        (ValueError, nothing written). Returns the number appended."""
        rows = []
        for item in readings:
            if isinstance(item, Mapping):
                metrics, ts = item["metrics"], item.get("ts")
            else:
                metrics, ts = item
            if ts is None:
                ts = now_ms()
            validate_reading(metrics, ts)
            rows.append((ts, json.dumps(dict(metrics), separators=(",", ":"), allow_nan=False)))
        if not rows:
            return 0
        with self._lock, self._tx():
            self._db.executemany("INSERT INTO reading(ts, metrics) VALUES (?, ?)", rows)
            self._unsent += len(rows)
            self.sent += len(rows)
            overflow = self.buffered - self.max_buffered
            if overflow > 0:
                dropped = self._db.execute(
                    "DELETE FROM reading WHERE id IN "
                    "(SELECT id FROM reading WHERE message IS NULL ORDER BY id LIMIT ?)",
                    (min(overflow, self._unsent),),
                ).rowcount
                self._unsent -= dropped
                self.dropped_full += dropped
        return len(rows)

    # -- messages

    def assign(self, batch_size: int, max_bytes: int = 1 << 20) -> Optional[int]:
        """Turns up to `batch_size` of the NEWEST unsent readings into the next
        message, keeping its JSON under `max_bytes`. The seq is committed with
        the assignment. Returns the seq, or None when nothing is unsent."""
        with self._lock:
            if self._unsent == 0:
                return None
            rows = self._db.execute(
                "SELECT id, ts, metrics FROM reading WHERE message IS NULL ORDER BY id DESC LIMIT ?",
                (max(1, batch_size),),
            ).fetchall()
            size, take = _MESSAGE_OVERHEAD, 0
            for _id, _ts, metrics in rows:
                size += _READING_OVERHEAD + len(metrics)
                if size > max_bytes and take > 0:
                    break
                take += 1
            lowest_id = rows[take - 1][0]
            seq = self.next_seq
            with self._tx():
                # The chosen rows are exactly the unsent ones with id >= lowest_id.
                count = self._db.execute(
                    "UPDATE reading SET message = ? WHERE message IS NULL AND id >= ?", (seq, lowest_id)
                ).rowcount
                self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (seq + 1,))
            self.next_seq = seq + 1
            self._unsent -= count
            self._assigned[seq] = count
            bisect.insort(self._seqs, seq)
            return seq

    def encode(self, seq: int) -> Optional[str]:
        """The message's JSON text (the same readings every time), or None when
        the message is gone (acked or rejected)."""
        with self._lock:
            if seq not in self._assigned:
                return None
            rows = self._db.execute("SELECT ts, metrics FROM reading WHERE message = ? ORDER BY id", (seq,))
            readings = ",".join(f'{{"ts":{ts},"metrics":{metrics}}}' for ts, metrics in rows)
        return f'{{"type":"batch","seq":{seq},"readings":[{readings}]}}'

    def _delete_messages(self, where: str, arg: int) -> int:
        with self._lock, self._tx():
            n = self._db.execute(f"DELETE FROM reading WHERE message IS NOT NULL AND {where}", (arg,)).rowcount
        return n

    def _forget(self, seqs: list[int]) -> None:
        for s in seqs:
            self._assigned.pop(s, None)
        self._seqs = sorted(self._assigned)

    def ack(self, seq: int) -> int:
        """Cumulative ack: deletes the readings of every message <= seq;
        returns how many readings that acknowledged."""
        with self._lock:
            gone = [s for s in self._seqs if s <= seq]
            if not gone:
                return 0
            n = self._delete_messages("message <= ?", seq)
            self._forget(gone)
            self.acked += n
            return n

    def on_hello(self, last_seq: int) -> list[int]:
        """The hub has every message <= last_seq: deletes them (acked), makes
        sure new seqs continue above last_seq (a device whose buffer file was
        replaced must not reuse seqs the hub has seen), and returns the seqs
        to resend, ascending."""
        with self._lock:
            self.ack(last_seq)
            if self.next_seq <= last_seq:
                with self._tx():
                    self._db.execute("UPDATE meta SET value = ? WHERE key = 'next_seq'", (last_seq + 1,))
                self.next_seq = last_seq + 1
            return list(self._seqs)

    def reject(self, seq: int) -> int:
        """The hub will never store message `seq`: deletes its readings and
        counts them as rejected."""
        with self._lock:
            if seq not in self._assigned:
                return 0
            n = self._delete_messages("message = ?", seq)
            self._forget([seq])
            self.rejected += n
            return n

    def unassign(self, seq: int) -> int:
        """Returns a message's readings to the unsent pool (used only when a
        message no longer fits the hub's limits; its seq is abandoned, and
        resending the readings under new seqs is harmless because the hub keys
        readings by metric and ts)."""
        with self._lock, self._tx():
            n = self._db.execute("UPDATE reading SET message = NULL WHERE message = ?", (seq,)).rowcount
            self._forget([seq])
            self._unsent += n
            return n


# ---------------------------------------------------------------------------
# Pacing


class Backoff:
    """Exponential backoff with full jitter: the delay before reconnect attempt
    n (0-based) is uniform in [0, min(cap, base * 2**n)]."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: Optional[random.Random] = None):
        self.base, self.cap = base, cap
        self.rng = rng or random.Random()

    def ceiling(self, attempt: int) -> float:
        return min(self.cap, self.base * 2 ** min(attempt, 60))

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, self.ceiling(attempt))

    def delay_after_permanent_failure(self) -> float:
        """After a failure retrying soon cannot cure (a refused token, a wrong
        address): between half the cap and the cap, so a misconfigured fleet
        does not hammer the hub while someone fixes it."""
        return self.rng.uniform(self.cap / 2, self.cap)


class TokenBucket:
    """Paces what is put on the wire to `rate` readings/s with bursts of
    `capacity`. `wait()` returns once the bucket is not in debt; `charge(n)`
    takes n tokens (it may go negative, so a whole message is never split)."""

    def __init__(self, rate: Optional[float], capacity: Optional[float] = None, clock=time.monotonic):
        self.rate = rate if rate and rate > 0 else None
        self.capacity = capacity if capacity is not None else (self.rate or 0)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        if self.rate:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def delay(self) -> float:
        if not self.rate:
            return 0.0
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    async def wait(self) -> None:
        while (d := self.delay()) > 0:
            await asyncio.sleep(d)

    def charge(self, n: int) -> None:
        if self.rate:
            self._refill()
            self.tokens -= n


# ---------------------------------------------------------------------------
# The client


class _DeadLink(Exception):
    pass


class _Session:
    """What one connection knows."""

    def __init__(self, ws, hello: dict, batch_size: int):
        self.ws = ws
        self.device = hello.get("device")
        self.heartbeat = float(hello.get("heartbeatSeconds") or 20)
        self.max_batch = int(hello.get("maxBatch") or batch_size)
        self.batch = max(1, min(batch_size, self.max_batch))
        self.max_bytes = int(hello.get("maxMessageBytes") or (1 << 20))
        self.sent_upto = 0          # highest seq transmitted since the last (re)start point
        self.generation = 0         # bumped by every go-back-N rewind
        self.pause_until = 0.0      # loop time before which nothing is sent (retryAfterMs)
        self.last_rx = time.monotonic()
        self.unanswered_since: Optional[float] = None
        self.close_reason: Optional[str] = None


class TelehubDevice:
    """A Telehub device: `send()` readings; `run()` (or `async with`) delivers them.

    Parameters (all but the first three are keyword-only):
      url, token      the hub's address (http(s)://HOST:PORT as `telehub serve` prints it,
                      or ws(s)://HOST:PORT/v1/ingest; see ingest_url) and a `thd_` device token
      buffer_path     SQLite file of the offline buffer (":memory:" works, but is not durable)
      batch_size      readings per message, at most hello.maxBatch (default 100)
      window          unacknowledged messages in flight (default 4)
      backfill_rate   readings/s put on the wire, all messages included (default 1000,
                      half the hub's default per-device limit); None for no pacing
      max_buffered    readings kept; when full the oldest unsent are dropped (default 1,000,000)
      backoff_base, backoff_cap, stable_after
                      reconnect delay uniform(0, min(cap, base * 2**attempt)); attempts
                      reset after a connection stayed up `stable_after` seconds
      ack_timeout     reconnect when the hub answers nothing for this long while
                      messages are outstanding (default 60 s)
      on_state        callback(state) on every state change
      rng             random.Random for the jitter (tests seed it)
      ssl             an ssl.SSLContext for wss:// with a private CA
      synchronous     the buffer's SQLite synchronous mode: "FULL" (default: every
                      send() is on disk when it returns) or "NORMAL" (fewer syncs,
                      for SD cards; a power cut may lose the last readings)
    """

    def __init__(
        self,
        url: str,
        token: str,
        buffer_path: str,
        *,
        batch_size: int = 100,
        window: int = 4,
        backfill_rate: Optional[float] = 1000.0,
        max_buffered: int = 1_000_000,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        stable_after: float = 30.0,
        default_heartbeat: float = 20.0,
        open_timeout: float = 10.0,
        close_timeout: float = 2.0,
        ack_timeout: float = 60.0,
        on_state: Optional[Callable[[str], None]] = None,
        rng: Optional[random.Random] = None,
        ssl=None,
        synchronous: str = "FULL",
    ):
        if _ws_connect is None:
            raise RuntimeError("telehub_device needs the websockets package: pip install websockets")
        self.url, self.token = ingest_url(url), token
        self.buffer = ReadingBuffer(buffer_path, max_buffered=max_buffered, synchronous=synchronous)
        self.batch_size = max(1, batch_size)
        self.window = max(1, window)
        self.bucket = TokenBucket(backfill_rate, max(backfill_rate or 0, self.batch_size))
        self.backoff = Backoff(backoff_base, backoff_cap, rng)
        self.stable_after = stable_after
        self.default_heartbeat = default_heartbeat
        self.open_timeout, self.close_timeout, self.ack_timeout = open_timeout, close_timeout, ack_timeout
        self.on_state = on_state
        self.ssl = ssl
        self.state = "disconnected"
        self.reconnects = 0
        self.last_error: Optional[dict] = None
        self.last_close: Optional[tuple] = None
        # Why the last attempt failed or the last connection ended, and whether
        # retrying soon can help (a refused token or a wrong address cannot).
        self.last_failure: Optional[str] = None
        self.failure_is_permanent = False
        self.extensions: list[str] = []  # negotiated on the last connection, e.g. ["permessage-deflate"]
        self._session: Optional[_Session] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._wake: Optional[asyncio.Event] = None
        self._task: Optional[asyncio.Task] = None
        self._subscribers: list[asyncio.Queue] = []
        self._stopping = False

    # -- producing

    def send(self, metrics: Mapping, ts: Optional[int] = None) -> None:
        """Buffers one reading (durably, at once) for delivery. `ts` is ms since
        the epoch, default now. Raises ValueError for what the hub would
        reject. Safe to call from any thread, connected or not."""
        self.buffer.append(metrics, ts)
        self._poke()

    def send_many(self, readings: Iterable) -> int:
        """Buffers many readings in one transaction: `(metrics, ts)` pairs or
        `{"metrics":..., "ts":...}` dicts. Returns the number buffered."""
        n = self.buffer.append_many(readings)
        self._poke()
        return n

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    # -- observing

    @property
    def counters(self) -> Counters:
        b = self.buffer
        return Counters(
            sent=b.sent, acked=b.acked, buffered=b.buffered, reconnects=self.reconnects,
            rejected=b.rejected, dropped_full=b.dropped_full, in_flight_messages=len(b.assigned_seqs),
        )

    def status_line(self) -> str:
        c = self.counters
        line = (f"state={self.state} sent={c.sent} acked={c.acked} buffered={c.buffered} "
                f"rejected={c.rejected} dropped_full={c.dropped_full} reconnects={c.reconnects}")
        if self.state != "connected" and self.last_failure:
            line += f" last_error={self.last_failure!r}"
        return line

    async def states(self) -> AsyncIterator[str]:
        """Yields the current state, then every change, until the client stops."""
        queue: asyncio.Queue = asyncio.Queue()
        queue.put_nowait(self.state)
        self._subscribers.append(queue)
        try:
            while True:
                state = await queue.get()
                yield state
                if state == "stopped":
                    return
        finally:
            self._subscribers.remove(queue)

    def _set_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        log.debug("state: %s", state)
        for queue in self._subscribers:
            queue.put_nowait(state)
        if self.on_state:
            try:
                self.on_state(state)
            except Exception:  # a callback must not break delivery
                log.exception("on_state callback failed")

    # -- lifecycle

    async def __aenter__(self) -> "TelehubDevice":
        self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()
        self.close()

    def start(self) -> asyncio.Task:
        """Starts `run()` in a task on the running loop."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="telehub-device")
        return self._task

    async def stop(self) -> None:
        """Closes the connection (code 1000) and stops. Unacked readings stay
        in the buffer for the next run."""
        self._stopping = True
        session = self._session
        if session is not None:
            try:
                await asyncio.wait_for(session.ws.close(), self.close_timeout + 1)
            except Exception:  # already gone; the task is cancelled below anyway
                pass
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._set_state("stopped")

    def close(self) -> None:
        """Closes the buffer file (after stop())."""
        self.buffer.close()

    async def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits until every buffered reading is acked or rejected; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.buffer.buffered > 0:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    async def run(self) -> None:
        """Connects, delivers, reconnects with backoff; returns only when cancelled."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        attempt = 0
        first = True
        try:
            while not self._stopping:
                if not first:
                    self.reconnects += 1
                first = False
                self._set_state("connecting")
                connected_at = await self._connect_once()
                if self._stopping:
                    break
                if connected_at is not None and time.monotonic() - connected_at >= self.stable_after:
                    attempt = 0
                delay = (self.backoff.delay_after_permanent_failure() if self.failure_is_permanent
                         else self.backoff.delay(attempt))
                attempt += 1
                self._set_state("backing_off")
                log.info("reconnecting in %.2f s (attempt %d)", delay, attempt)
                await asyncio.sleep(delay)
        finally:
            self._session = None
            self._set_state("stopped" if self._stopping else "disconnected")

    async def _connect_once(self) -> Optional[float]:
        """One connection; returns when it ends: the monotonic time it became
        connected (hello received), or None if it never did."""
        connected_at = None
        try:
            async with _ws_connect(
                self.url,
                {"Authorization": f"Bearer {self.token}"},
                open_timeout=self.open_timeout,
                close_timeout=self.close_timeout,
                ping_interval=None,  # our own heartbeat, paced by hello.heartbeatSeconds
                ssl=self.ssl,
                user_agent_header=f"telehub-device-python/{__version__}",
            ) as ws:
                raw = await asyncio.wait_for(ws.recv(), self.open_timeout)
                hello = json.loads(raw)
                if not isinstance(hello, dict) or hello.get("type") != "hello":
                    raise ValueError(f"expected hello, got {raw[:200]!r}")
                session = _Session(ws, hello, self.batch_size)
                extensions = getattr(getattr(ws, "protocol", None), "extensions", None) or getattr(ws, "extensions", [])
                self.extensions = [getattr(e, "name", str(e)) for e in extensions]
                if not hello.get("heartbeatSeconds"):
                    session.heartbeat = self.default_heartbeat
                resend = self.buffer.on_hello(int(hello.get("lastSeq") or 0))
                log.info("connected as %s, hub lastSeq %s, resending %d message(s), %d readings buffered",
                         session.device, hello.get("lastSeq"), len(resend), self.buffer.buffered)
                self._session = session
                connected_at = time.monotonic()
                self._set_state("connected")
                try:
                    await self._serve(session)
                finally:
                    self._session = None
                    if session.close_reason:  # dead link: do not wait for a close handshake
                        ws.transport.abort()
        except asyncio.CancelledError:
            raise
        except _RefusedUpgrade as refused:
            status = _refused_status(refused)
            self.last_close = ("http", status)
            self._failed(*_explain_status(status))
            log.error("%s", self.last_failure)
        except ConnectionClosed as closed:
            self._note_close(closed)
        except (OSError, asyncio.TimeoutError, InvalidHandshake, ValueError, _DeadLink) as problem:
            self._failed(_explain_problem(problem), permanent=False)
            log.warning("connection failed: %s", self.last_failure)
        except Exception as problem:  # a bug or a full disk: log it, back off, try again; never stop delivering
            self._failed(f"unexpected failure: {type(problem).__name__}: {problem}", permanent=False)
            log.exception("unexpected failure; reconnecting")
        return connected_at

    def _failed(self, why: str, permanent: bool) -> None:
        self.last_failure, self.failure_is_permanent = why, permanent

    def _note_close(self, closed) -> None:
        rcvd = getattr(closed, "rcvd", None)
        code, reason = (rcvd.code, rcvd.reason) if rcvd else (1006, "no close frame")
        self.last_close = (code, reason)
        explain = {
            1000: "closed", 1001: "hub going away (restart or shutdown)",
            1003: "binary frame sent (client bug)", 1007: "invalid UTF-8 sent (client bug)",
            1008: "token revoked or expired, or too many invalid messages",
            1009: "message over maxMessageBytes", 4000: "replaced by a newer connection of this device",
        }.get(code, "connection lost")
        self._failed(f"disconnected: {code} {reason} ({explain})".replace(" ()", ""), permanent=False)
        level = logging.WARNING if code in (1003, 1007, 1008, 1009, 4000) else logging.INFO
        log.log(level, "disconnected: %s %s (%s)", code, reason, explain)

    async def _serve(self, s: _Session) -> None:
        tasks = [
            asyncio.create_task(self._reader(s), name="telehub-reader"),
            asyncio.create_task(self._writer(s), name="telehub-writer"),
            asyncio.create_task(self._pinger(s), name="telehub-pinger"),
            asyncio.create_task(self._watchdog(s), name="telehub-watchdog"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for r in results:
            if isinstance(r, ConnectionClosed):
                raise r
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
                if isinstance(r, (_DeadLink, OSError)):
                    raise r
                log.error("delivery task failed", exc_info=r)
                raise r

    # -- the four tasks of a connection

    async def _reader(self, s: _Session) -> None:
        while True:
            raw = await s.ws.recv()
            s.last_rx = time.monotonic()
            try:
                message = json.loads(raw)
                kind = message.get("type")
            except (ValueError, AttributeError):
                log.warning("ignoring a server message that is not a JSON object: %.200r", raw)
                continue
            if kind == "ack" and isinstance(message.get("seq"), int):
                self._on_ack(s, message["seq"])
            elif kind == "error":
                self._on_error(s, message)
            elif kind in ("pong", "hello"):
                pass
            else:
                log.debug("ignoring server message %.200r", raw)

    def _outstanding(self, s: _Session) -> bool:
        seqs = self.buffer.assigned_seqs
        return bool(seqs) and seqs[0] <= s.sent_upto

    def _answered(self, s: _Session) -> None:
        s.unanswered_since = time.monotonic() if self._outstanding(s) else None
        if self._wake:
            self._wake.set()

    def _on_ack(self, s: _Session, seq: int) -> None:
        n = self.buffer.ack(seq)
        if n:
            log.debug("ack %d: %d readings stored", seq, n)
        self._answered(s)

    def _on_error(self, s: _Session, error: dict) -> None:
        seq = error.get("seq")
        code = error.get("code")
        self.last_error = error
        if seq is None:
            log.warning("hub error without seq: %s: %s", code, error.get("message"))
        elif error.get("retryable"):
            seq = int(seq)
            # Go-back-N: resend `seq` and everything after it. An error for a
            # message beyond the rewind point belongs to the transmissions the
            # rewind already covers, so it is not a new rewind.
            if self.buffer.is_assigned(seq) and seq <= s.sent_upto:
                wait = max(0, int(error.get("retryAfterMs") or 0)) / 1000
                log.info("%s for seq %d: resending from it in %.3f s", code, seq, wait)
                previous = [q for q in self.buffer.assigned_seqs if q < seq]
                s.sent_upto = previous[-1] if previous else 0
                s.generation += 1
                s.pause_until = max(s.pause_until, asyncio.get_running_loop().time() + wait)
        else:
            seq = int(seq)
            n = self.buffer.reject(seq)
            log.warning("hub rejected seq %d for good (%s: %s): %d reading(s) dropped",
                        seq, code, error.get("message"), n)
        self._answered(s)

    async def _writer(self, s: _Session) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake
        while True:
            wake.clear()
            pause = s.pause_until - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
                continue
            generation = s.generation
            seq = self.buffer.next_assigned_after(s.sent_upto)
            if seq is None and not (len(self.buffer.assigned_seqs) < self.window and self.buffer.unsent > 0):
                await wake.wait()
                continue
            await self.bucket.wait()
            if s.generation != generation or s.pause_until > loop.time():
                continue  # a rewind happened meanwhile: start over from its point
            if seq is None:
                if len(self.buffer.assigned_seqs) >= self.window:
                    continue
                seq = self.buffer.assign(s.batch, s.max_bytes)
                if seq is None:
                    continue
            elif self.buffer.next_assigned_after(s.sent_upto) != seq:
                continue  # acked or rejected while we waited
            text = self.buffer.encode(seq)
            if text is None:
                continue
            count = self.buffer.message_count(seq)
            if count > s.max_batch or len(text.encode()) > s.max_bytes:
                # Assigned under larger limits (the hub's configuration changed):
                # the hub would refuse it for good, so give its readings new messages.
                log.warning("message %d (%d readings) exceeds the hub's limits; re-batching it", seq, count)
                self.buffer.unassign(seq)
                continue
            s.sent_upto = seq
            if s.unanswered_since is None:
                s.unanswered_since = time.monotonic()
            self.bucket.charge(count)
            await s.ws.send(text)

    async def _pinger(self, s: _Session) -> None:
        def pong(waiter):
            if not waiter.cancelled() and waiter.exception() is None:
                s.last_rx = time.monotonic()

        while True:
            await asyncio.sleep(s.heartbeat)
            waiter = await s.ws.ping()
            waiter.add_done_callback(pong)

    async def _watchdog(self, s: _Session) -> None:
        tick = max(0.05, min(1.0, s.heartbeat / 4))
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if now - s.last_rx > 2 * s.heartbeat:
                s.close_reason = "dead link"
                raise _DeadLink(f"no traffic from the hub for {now - s.last_rx:.1f} s")
            if s.unanswered_since is not None and self._outstanding(s) \
                    and now - s.unanswered_since > self.ack_timeout:
                s.close_reason = "ack timeout"
                raise _DeadLink(f"no ack or error for {now - s.unanswered_since:.1f} s")


def _explain_status(status: Optional[int]) -> tuple[str, bool]:
    """What an HTTP status instead of a WebSocket upgrade means, and whether it is permanent."""
    if status in (401, 403):
        return (f"the hub refused the token (HTTP {status}): revoked, expired or mistyped; "
                "create one with `telehub token create --device NAME`"), True
    if status == 404:
        return "no Telehub ingest endpoint at this address (HTTP 404)", True
    if status == 429:
        return "too many failed attempts from this address (HTTP 429); waiting", False
    return f"the hub answered HTTP {status} instead of upgrading", False


def _explain_problem(problem: BaseException) -> str:
    if isinstance(problem, ConnectionRefusedError):
        return "cannot connect: connection refused (is the hub running, on this host and port?)"
    if isinstance(problem, ssl_module.SSLError):
        return f"TLS failed: {problem} (does the address need ws:// instead of wss://, or a trusted certificate?)"
    if isinstance(problem, asyncio.TimeoutError):
        return "no answer in time (connect or hello)"
    if isinstance(problem, _DeadLink):
        return f"dead link: {problem}"
    if isinstance(problem, OSError):
        return f"cannot connect: {problem.strerror or problem}"
    return f"{type(problem).__name__}: {problem}"


# ---------------------------------------------------------------------------
# Command line


def _parse_line(line: str):
    obj = json.loads(line)
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    if isinstance(obj.get("metrics"), dict):
        return obj["metrics"], obj.get("ts")
    return obj, None


async def _cli(args) -> int:
    device = TelehubDevice(
        args.url, args.token, args.buffer, batch_size=args.batch_size, window=args.window,
        backfill_rate=args.backfill_rate or None, max_buffered=args.max_buffered, synchronous=args.sync.upper(),
    )
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue = asyncio.Queue()
    try:  # SIGTERM (systemd stop) ends the run like Ctrl-C: close 1000, keep the buffer
        import signal
        loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    except (NotImplementedError, RuntimeError, AttributeError):  # Windows
        pass

    def read_stdin():  # a daemon thread, so a blocked read never holds up exit
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, None)

    async def status():
        while True:
            await asyncio.sleep(args.status_interval)
            print(device.status_line(), file=sys.stderr, flush=True)

    async def demo():
        while True:
            t = time.time()
            device.send({"temperature": round(21 + 3 * math.sin(2 * math.pi * t / 600) + random.uniform(-0.1, 0.1), 2)})
            await asyncio.sleep(1)

    async def from_stdin():
        threading.Thread(target=read_stdin, daemon=True).start()
        while (line := await lines.get()) is not None:
            if not line.strip():
                continue
            try:
                metrics, ts = _parse_line(line)
                device.send(metrics, ts)
            except (ValueError, TypeError, KeyError) as bad:
                print(f"skipped line: {bad}: {line.strip()[:200]}", file=sys.stderr, flush=True)
        print("end of input; flushing", file=sys.stderr, flush=True)
        if not await device.flush(args.flush_timeout):
            print(f"gave up waiting after {args.flush_timeout} s; "
                  f"{device.counters.buffered} readings stay buffered", file=sys.stderr)

    async with device:
        reporter = asyncio.create_task(status())
        try:
            await (demo() if args.demo else from_stdin())
        finally:
            reporter.cancel()
            print(device.status_line(), file=sys.stderr, flush=True)
    return 0 if device.counters.buffered == 0 or args.demo else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m telehub_device",
        description="Send readings to a Telehub hub: JSON objects on stdin, one per line "
                    '({"temperature":21.5} or {"ts":1732200000123,"metrics":{...}}), or --demo.',
    )
    parser.add_argument("--url", default=os.environ.get("TELEHUB_URL", "http://127.0.0.1:8080"),
                        help="the hub's address as `telehub serve` prints it (http(s)://HOST:PORT), or "
                             "ws(s)://HOST:PORT/v1/ingest; or TELEHUB_URL")
    parser.add_argument("--token", default=os.environ.get("TELEHUB_TOKEN"),
                        help="device token (thd_...), or TELEHUB_TOKEN")
    parser.add_argument("--buffer", default="./device.sqlite", help="offline buffer file (default ./device.sqlite)")
    parser.add_argument("--demo", action="store_true", help="send a sine-wave temperature every second")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--backfill-rate", type=float, default=1000.0, help="readings/s; 0 for no pacing")
    parser.add_argument("--max-buffered", type=int, default=1_000_000)
    parser.add_argument("--sync", choices=("full", "normal"), default="full",
                        help="SQLite synchronous mode of the buffer: full (default) syncs every write; "
                             "normal is kinder to SD cards and may lose the last readings on a power cut")
    parser.add_argument("--status-interval", type=float, default=5.0, help="seconds between status lines")
    parser.add_argument("--flush-timeout", type=float, default=60.0,
                        help="at end of input, seconds to wait for acks")
    parser.add_argument("-v", "--verbose", action="count", default=0)
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token (or TELEHUB_TOKEN) is required")
    try:
        ingest_url(args.url)
    except ValueError as bad:
        parser.error(f"--url: {bad}")
    logging.basicConfig(level=logging.WARNING - 10 * args.verbose,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(_cli(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
