"""The durable buffer: readings, command results and reports on disk until
the hub has acknowledged them, and the commands this device has started."""
from __future__ import annotations

import bisect
import json
import sqlite3
import threading
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from .wire import (
    MAX_STATE_BYTES, _MESSAGE_OVERHEAD, _READING_OVERHEAD, compact_json, now_ms, object_problem, validate_reading,
)

# devices/client-rules.json, "commands": the failure a command gets when the
# device restarted while it ran, and the bound on reports waiting for the hub.
INTERRUPTED = "the device restarted while the command ran; it was not run again"
MAX_PENDING_CONTROL = 10_000
# A finished command is remembered this long after it expires: the hub never
# sends an expired command, so after that its id cannot come back.
COMMAND_MEMORY_MS = 3_600_000


class ControlBacklogFull(RuntimeError):
    """report() refused: `max_pending_control` results and reports are already
    waiting for the hub (it has been unreachable for a long while)."""


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
    commands_run: int = 0       # command handlers started by this process
    pending_control: int = 0    # command results and reports not yet acknowledged


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

    Table `control(id, body, message)`: a `command_result` or `reported`
    message (its JSON without `seq`), kept like a reading until acknowledged,
    so a result or report reaches the hub at least once. It takes the next
    seq when it is first sent, goes before readings, and is never changed.

    Table `command(id, expires_at, finished)`: every command this device has
    started. An id found there is never run again, so a command runs at most
    once even across a reboot; one found unfinished when the file is opened
    was cut short by a restart and fails with INTERRUPTED.

    Meta `desired_applied`: the highest desired version applied, raised in
    the transaction that stores its report.

    Thread-safe: every method holds one lock.
    """

    def __init__(self, path: str, max_buffered: int = 1_000_000, synchronous: str = "FULL",
                 max_pending_control: int = MAX_PENDING_CONTROL):
        if max_buffered < 1:
            raise ValueError("max_buffered must be at least 1")
        synchronous = str(synchronous).upper()
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError(f"synchronous must be FULL, NORMAL or EXTRA, not {synchronous!r}")
        self.path = str(path)
        self.max_buffered = max_buffered
        self.max_pending_control = max_pending_control
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
            CREATE TABLE IF NOT EXISTS control (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                body TEXT NOT NULL,
                message INTEGER
            );
            CREATE TABLE IF NOT EXISTS command (
                id TEXT PRIMARY KEY,
                expires_at INTEGER NOT NULL,
                finished INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
            INSERT OR IGNORE INTO meta(key, value) VALUES ('next_seq', 1);
            INSERT OR IGNORE INTO meta(key, value) VALUES ('desired_applied', 0);
            COMMIT;
            """
        )
        self._control_unsent = 0
        self.interrupted = self._fail_interrupted()
        self._forget_old_commands()
        self.next_seq = self._meta("next_seq")
        self.desired_applied = self._meta("desired_applied")
        self._assigned: dict[int, int] = dict(
            self._db.execute("SELECT message, COUNT(*) FROM reading WHERE message IS NOT NULL GROUP BY message")
        )
        self._control: dict[int, int] = {
            seq: row for row, seq in self._db.execute("SELECT id, message FROM control WHERE message IS NOT NULL")
        }
        self._seqs = sorted([*self._assigned, *self._control])
        self._unsent = self._db.execute("SELECT COUNT(*) FROM reading WHERE message IS NULL").fetchone()[0]
        self._control_unsent = self._db.execute("SELECT COUNT(*) FROM control WHERE message IS NULL").fetchone()[0]
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

    def _meta(self, key: str) -> int:
        return self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()[0]

    def _set_meta(self, key: str, value: int) -> None:
        self._db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))

    def _insert_control(self, message: dict) -> None:
        """Adds a control message (inside the caller's transaction)."""
        self._db.execute("INSERT INTO control(body) VALUES (?)", (compact_json(message),))
        self._control_unsent += 1

    # -- sizes

    @property
    def buffered(self) -> int:
        return self._unsent + sum(self._assigned.values())

    @property
    def unsent(self) -> int:
        return self._unsent

    @property
    def control_unsent(self) -> int:
        """Control messages not yet given a seq."""
        return self._control_unsent

    @property
    def pending_control(self) -> int:
        """Control messages not yet acknowledged, sent or not."""
        return self._control_unsent + len(self._control)

    @property
    def assigned_seqs(self) -> list[int]:
        """Seqs of messages (readings or control) assigned and neither acked
        nor rejected, ascending."""
        return list(self._seqs)

    def message_count(self, seq: int) -> int:
        """Readings in message `seq` (0 for a control message)."""
        return self._assigned.get(seq, 0)

    def is_assigned(self, seq: int) -> bool:
        return seq in self._assigned or seq in self._control

    def is_control(self, seq: int) -> bool:
        return seq in self._control

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

    def assign_next(self, batch_size: int, max_bytes: int = 1 << 20) -> Optional[int]:
        """The next new message: a waiting control message if there is one
        (a result or report is small and the operator is waiting for it),
        else a batch of readings. Returns its seq, or None."""
        with self._lock:
            seq = self.assign_control()
            return seq if seq is not None else self.assign(batch_size, max_bytes)

    def assign_control(self) -> Optional[int]:
        """Gives the oldest unsent control message the next seq, committed
        with it, as readings get theirs. Returns the seq, or None."""
        with self._lock:
            if self._control_unsent == 0:
                return None
            seq = self.next_seq
            with self._tx():
                row = self._db.execute("SELECT id FROM control WHERE message IS NULL ORDER BY id LIMIT 1").fetchone()[0]
                self._db.execute("UPDATE control SET message = ? WHERE id = ?", (seq, row))
                self._set_meta("next_seq", seq + 1)
            self.next_seq = seq + 1
            self._control_unsent -= 1
            self._control[seq] = row
            bisect.insort(self._seqs, seq)
            return seq

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
                self._set_meta("next_seq", seq + 1)
            self.next_seq = seq + 1
            self._unsent -= count
            self._assigned[seq] = count
            bisect.insort(self._seqs, seq)
            return seq

    def encode(self, seq: int) -> Optional[str]:
        """The message's JSON text (the same every time), or None when the
        message is gone (acked or rejected)."""
        with self._lock:
            if seq in self._control:
                return self._encode_control(seq)
            if seq not in self._assigned:
                return None
            rows = self._db.execute("SELECT ts, metrics FROM reading WHERE message = ? ORDER BY id", (seq,))
            readings = ",".join(f'{{"ts":{ts},"metrics":{metrics}}}' for ts, metrics in rows)
        return f'{{"type":"batch","seq":{seq},"readings":[{readings}]}}'

    def _encode_control(self, seq: int) -> str:
        body = json.loads(self._db.execute("SELECT body FROM control WHERE id = ?", (self._control[seq],)).fetchone()[0])
        return compact_json({"type": body.pop("type"), "seq": seq, **body})

    def _delete_messages(self, where: str, arg: int) -> int:
        """Deletes the readings and control messages of the messages `where`
        names, in one transaction; returns the readings deleted."""
        with self._lock, self._tx():
            n = self._db.execute(f"DELETE FROM reading WHERE message IS NOT NULL AND {where}", (arg,)).rowcount
            self._db.execute(f"DELETE FROM control WHERE message IS NOT NULL AND {where}", (arg,))
        return n

    def _forget(self, seqs: list[int]) -> None:
        for s in seqs:
            self._assigned.pop(s, None)
            self._control.pop(s, None)
        self._seqs = sorted([*self._assigned, *self._control])

    def ack(self, seq: int) -> int:
        """Cumulative ack: deletes every message <= seq, readings and control;
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
                    self._set_meta("next_seq", last_seq + 1)
                self.next_seq = last_seq + 1
            return list(self._seqs)

    def reject(self, seq: int) -> int:
        """The hub will never store message `seq`: deletes its readings (counted
        as rejected) or its control message; returns the readings deleted."""
        with self._lock:
            if not self.is_assigned(seq):
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

    # -- commands and desired state

    def _fail_interrupted(self) -> list[str]:
        """Commands found unfinished were cut short by a restart: running them
        again could do twice what must be done once (a reboot, a dose), so
        each fails with INTERRUPTED instead. Returns their ids."""
        with self._lock, self._tx():
            ids = [row[0] for row in self._db.execute("SELECT id FROM command WHERE finished = 0 ORDER BY rowid")]
            for command_id in ids:
                self._finish(command_id, _result(command_id, "failed", message=INTERRUPTED))
        return ids

    def _forget_old_commands(self, now: Optional[int] = None) -> int:
        """Forgets finished commands whose expiry is an hour past (the hub
        never sends an expired command, so those ids cannot return)."""
        cutoff = (now_ms() if now is None else now) - COMMAND_MEMORY_MS
        with self._lock, self._tx():
            return self._db.execute(
                "DELETE FROM command WHERE finished = 1 AND expires_at < ?", (cutoff,)).rowcount

    def begin_command(self, command_id: str, expires_at: int) -> bool:
        """Records a command as started, committed before it runs. True when
        it is new; False when this device has seen the id before (running or
        done): it must not run again."""
        self._forget_old_commands()
        with self._lock, self._tx():
            return self._db.execute(
                "INSERT OR IGNORE INTO command(id, expires_at) VALUES (?, ?)", (command_id, int(expires_at))
            ).rowcount == 1

    def finish_command(self, command_id: str, status: str, result: Optional[dict] = None,
                       message: Optional[str] = None) -> None:
        """Marks the command finished and queues its `command_result`, in one
        transaction: a crash leaves either both or neither (and then the
        command fails as interrupted on the next open)."""
        with self._lock, self._tx():
            self._finish(command_id, _result(command_id, status, result, message))

    def _finish(self, command_id: str, message: dict) -> None:
        self._db.execute("UPDATE command SET finished = 1 WHERE id = ?", (command_id,))
        self._insert_control(message)

    def command_state(self, command_id: str) -> Optional[str]:
        """Whether this device has started the command: `running`, `finished`,
        or None for an id it does not know."""
        with self._lock:
            row = self._db.execute("SELECT finished FROM command WHERE id = ?", (command_id,)).fetchone()
        return None if row is None else ("finished" if row[0] else "running")

    def apply_desired(self, version: int, reported: Mapping) -> bool:
        """Raises desired_applied to `version` and queues the report of what
        was applied, in one transaction, so a desired version is applied and
        reported once. False (nothing written) when `version` is not above
        desired_applied."""
        problem = object_problem(reported, "state", MAX_STATE_BYTES)
        if problem:
            raise ValueError(problem)
        with self._lock:
            if version <= self.desired_applied:
                return False
            with self._tx():
                self._set_meta("desired_applied", version)
                self._insert_control({"type": "reported", "state": dict(reported), "applied": version})
            self.desired_applied = version
            return True

    def add_report(self, patch: Mapping) -> None:
        """Queues a `reported` message (a merge patch over the reported state).
        Raises ValueError for what the hub would refuse, and ControlBacklogFull
        while `max_pending_control` control messages are already waiting."""
        problem = object_problem(patch, "state", MAX_STATE_BYTES)
        if problem:
            raise ValueError(problem)
        with self._lock:
            if self.pending_control >= self.max_pending_control:
                raise ControlBacklogFull(
                    f"{self.pending_control} results and reports are waiting for the hub "
                    f"(at most {self.max_pending_control}); is it reachable?")
            with self._tx():
                self._insert_control({"type": "reported", "state": dict(patch)})


def _result(command_id: str, status: str, result: Optional[dict] = None, message: Optional[str] = None) -> dict:
    """A `command_result` message without its seq."""
    body = {"type": "command_result", "id": command_id, "status": status}
    if result is not None:
        body["result"] = result
    if message is not None:
        body["message"] = message
    return body
