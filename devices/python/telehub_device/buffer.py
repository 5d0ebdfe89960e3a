"""The durable buffer: readings on disk until the hub has acknowledged them."""
from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from .wire import _MESSAGE_OVERHEAD, _READING_OVERHEAD, now_ms, validate_reading


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
            CREATE INDEX IF NOT EXISTS reading_unsent ON reading (id) WHERE message IS NULL;
            CREATE INDEX IF NOT EXISTS reading_message ON reading (message) WHERE message IS NOT NULL;
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
