"""The WebSocket client: connects, delivers, reconnects, says why it failed."""
from __future__ import annotations

import asyncio
import copy
import inspect
import json
import logging
import random
import ssl as ssl_module  # the constructor has an `ssl` parameter
import time
from typing import Any, AsyncIterator, Callable, Iterable, Mapping, Optional

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


from .buffer import INTERRUPTED, MAX_PENDING_CONTROL, Counters, ReadingBuffer
from .pacing import Backoff, TokenBucket
from .wire import (
    MAX_FAILURE_BYTES, MAX_RESULT_BYTES, METRIC_NAME, compact_json, ingest_url, now_ms, object_problem, truncate_utf8,
)

__version__ = "1.0"
log = logging.getLogger("telehub_device")

# What `state` and `on_state` report; the same names as the Swift SDK's, from
# devices/client-rules.json.
STATES = ("connecting", "connected", "disconnected", "backing_off", "stopped")
# devices/client-rules.json, "commands": why a command no handler answers fails.
NO_HANDLER = "no handler for command {name}"
# A command without expiresAt (a hub older than contract v1.2 never sends
# one) is remembered as if it had the hub's default ttl.
_DEFAULT_TTL_MS = 24 * 3_600_000


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
    """A Telehub device: `send()` readings; `run()` (or `async with`) delivers
    them; `on_command()` and `on_desired()` answer the hub.

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
      max_pending_control
                      command results and reports kept for the hub; past it
                      report() refuses (default 10,000)
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
        max_pending_control: int = MAX_PENDING_CONTROL,
    ):
        if _ws_connect is None:
            raise RuntimeError("telehub_device needs the websockets package: pip install websockets")
        self.url, self.token = ingest_url(url), token
        self.buffer = ReadingBuffer(buffer_path, max_buffered=max_buffered, synchronous=synchronous,
                                    max_pending_control=max_pending_control)
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
        self._command_handlers: dict[str, Callable] = {}
        self._desired_handler: Optional[Callable] = None
        self._desired_pending: Optional[tuple[int, dict]] = None
        self._desired_task: Optional[asyncio.Task] = None
        self._handler_tasks: set[asyncio.Task] = set()
        self.commands_run = 0
        # Why the last desired version could not be applied (the handler
        # raised, or answered what the hub would refuse), or None.
        self.last_desired_error: Optional[str] = None
        for command_id in self.buffer.interrupted:
            log.warning("command %s was running when the device stopped: it fails as interrupted", command_id)

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

    def report(self, patch: Mapping) -> None:
        """Reports state on the device's own account (a merge patch over its
        reported state: `{"firmware": "1.4"}`; None deletes a key). Buffered
        durably like a reading and delivered at least once. Raises ValueError
        for what the hub would refuse (not an object, over 16 KiB or 8 levels)
        and ControlBacklogFull while `max_pending_control` results and reports
        already wait for an unreachable hub. Safe to call from any thread."""
        self.buffer.add_report(patch)
        self._poke()

    # -- answering the hub

    def on_command(self, name: str, handler: Optional[Callable] = None):
        """Registers the handler of command `name`; usable as a decorator,
        `@device.on_command("set-interval")`. The handler gets the command's
        args (a dict) and returns a dict, its result (None means `{}`); it may
        be a coroutine function (run on the event loop) or a plain function
        (run in a worker thread, so a slow one never holds up delivery). A
        handler that raises fails the command with the error's text."""
        if not isinstance(name, str) or not METRIC_NAME.match(name):
            raise ValueError(f"invalid command name {name!r} (must match {METRIC_NAME.pattern})")

        def register(function: Callable) -> Callable:
            if not callable(function):
                raise TypeError(f"the handler of {name!r} must be callable")
            self._command_handlers[name] = function
            return function

        return register if handler is None else register(handler)

    def on_desired(self, handler: Optional[Callable] = None):
        """Registers the desired-state handler; usable as a decorator, with or
        without parentheses. It gets `(state, version)`, applies the state,
        and returns what to report (a merge patch over the reported state), or
        None to report the desired state itself. Each desired version above
        the last applied one is applied once, even across restarts; without
        a handler desired state is left unapplied (the hub's `delta` shows it)
        until one is registered."""
        def register(function: Callable) -> Callable:
            if not callable(function):
                raise TypeError("the desired handler must be callable")
            self._desired_handler = function
            loop = self._loop
            if self._desired_pending is not None and loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._start_applying)
            return function

        return register if handler is None else register(handler)

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
            commands_run=self.commands_run, pending_control=b.pending_control,
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
        assert state in STATES, state
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
        """Waits until every buffered reading, command result and report is
        acked or refused; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.buffer.buffered > 0 or self.buffer.pending_control > 0:
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
            await self._cancel_handlers()
            self._set_state("stopped" if self._stopping else "disconnected")

    async def _cancel_handlers(self) -> None:
        """Stops the handlers still running: a command cut short fails as
        interrupted (it is never run again), a desired version is applied on
        the next run."""
        tasks = list(self._handler_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

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
            elif kind == "command":
                self._on_command(s, message)
            elif kind == "desired":
                self._on_desired(message)
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
        elif self.buffer.is_control(int(seq)):
            seq = int(seq)
            text = self.buffer.encode(seq)
            self.buffer.reject(seq)
            log.error("hub rejected seq %d for good (%s: %s): dropped %.200s", seq, code, error.get("message"), text)
        else:
            seq = int(seq)
            n = self.buffer.reject(seq)
            log.warning("hub rejected seq %d for good (%s: %s): %d reading(s) dropped",
                        seq, code, error.get("message"), n)
        self._answered(s)

    # -- commands and desired state

    def _spawn(self, coroutine, name: str) -> asyncio.Task:
        """Runs a handler in a task of its own, so the reader keeps taking acks
        while it works; the task outlives the connection (a result is
        buffered and sent on the next one)."""
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._handler_tasks.add(task)
        task.add_done_callback(self._handler_done)
        return task

    def _handler_done(self, task: asyncio.Task) -> None:
        self._handler_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    def _on_command(self, s: _Session, message: dict) -> None:
        """A command from the hub: committed as started before it runs, so it
        runs at most once; one this device has seen before is only acknowledged."""
        command_id, name, args = message.get("id"), message.get("name"), message.get("args")
        if not isinstance(command_id, str) or not command_id or not isinstance(name, str):
            log.warning("ignoring a command without an id or a name: %.200r", message)
            return
        expires_at = message.get("expiresAt")
        if isinstance(expires_at, bool) or not isinstance(expires_at, int):
            expires_at = now_ms() + _DEFAULT_TTL_MS
        ack = compact_json({"type": "command_ack", "id": command_id})
        if not self.buffer.begin_command(command_id, expires_at):
            log.info("command %s (%s) again: acknowledged, not run again", command_id, name)
            self._spawn(self._send_quietly(s, ack), name=f"telehub-ack-{command_id}")
            return
        args = args if isinstance(args, dict) else {}
        self._spawn(self._carry_out(s, ack, command_id, name, args), name=f"telehub-command-{command_id}")

    async def _carry_out(self, s: _Session, ack: str, command_id: str, name: str, args: dict) -> None:
        """Acknowledges, runs the handler, then stores the result and the
        command's end in one transaction (the result is sent from the buffer)."""
        try:
            await self._send_quietly(s, ack)
            status, result, message = await self._execute(name, args)
        except asyncio.CancelledError:
            self.buffer.finish_command(command_id, "failed", message=INTERRUPTED)
            raise
        self.buffer.finish_command(command_id, status, result, message)
        log.info("command %s (%s): %s%s", command_id, name, status, f": {message}" if message else "")
        self._poke()

    async def _execute(self, name: str, args: dict) -> tuple[str, Optional[dict], Optional[str]]:
        """Runs the handler: (status, result, message) of the command_result."""
        handler = self._command_handlers.get(name)
        if handler is None:
            return "failed", None, NO_HANDLER.format(name=name)
        self.commands_run += 1
        try:
            answer = await _call(handler, args)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            return "failed", None, truncate_utf8(str(error) or type(error).__name__, MAX_FAILURE_BYTES)
        answer = {} if answer is None else answer
        problem = object_problem(answer, "result", MAX_RESULT_BYTES)
        if problem:
            return "failed", None, f"the handler's answer cannot be the result: {problem}"
        return "succeeded", dict(answer), None

    async def _send_quietly(self, s: _Session, text: str) -> None:
        """Sends on the connection it came from; a closed one loses nothing
        (the hub sends an unacknowledged command again on the next)."""
        try:
            await s.ws.send(text)
        except Exception as problem:  # closed or aborted: the handler must run all the same
            log.debug("could not send %.100s (%s)", text, problem)

    def _on_desired(self, message: dict) -> None:
        """A desired state from the hub: only a version above the last applied
        one is applied; while one is being applied, newer ones wait and only
        the newest is applied next (each carries the whole object)."""
        version, state = message.get("version"), message.get("state")
        if isinstance(version, bool) or not isinstance(version, int) or not isinstance(state, dict):
            log.warning("ignoring a desired message without a version and a state: %.200r", message)
            return
        if version <= self.buffer.desired_applied:
            return
        if self._desired_pending is None or version > self._desired_pending[0]:
            self._desired_pending = (version, state)
        if self._desired_handler is None:
            log.info("desired version %d not applied (yet): no on_desired handler", version)
        self._start_applying()

    def _start_applying(self) -> None:
        if self._desired_handler is None or self._desired_pending is None:
            return
        if self._desired_task is None or self._desired_task.done():
            self._desired_task = self._spawn(self._apply_desired(), name="telehub-desired")

    async def _apply_desired(self) -> None:
        while self._desired_pending is not None:
            version, state = self._desired_pending
            self._desired_pending = None
            if version > self.buffer.desired_applied:
                await self._apply_one(version, state)

    async def _apply_one(self, version: int, state: dict) -> None:
        """Calls the handler; its answer (or the state itself) is reported in
        the transaction that marks the version applied. A failure leaves the
        version unapplied: the hub sends it again on the next connection."""
        try:
            answer = await _call(self._desired_handler, copy.deepcopy(state), version)
            self.buffer.apply_desired(version, state if answer is None else answer)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.last_desired_error = f"desired version {version}: {str(error) or type(error).__name__}"
            log.error("could not apply %s", self.last_desired_error)
            return
        self.last_desired_error = None
        log.info("desired version %d applied", version)
        self._poke()

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
            fresh = self.buffer.control_unsent > 0 or self.buffer.unsent > 0
            if seq is None and not (len(self.buffer.assigned_seqs) < self.window and fresh):
                await wake.wait()
                continue
            await self.bucket.wait()
            if s.generation != generation or s.pause_until > loop.time():
                continue  # a rewind happened meanwhile: start over from its point
            if seq is None:
                if len(self.buffer.assigned_seqs) >= self.window:
                    continue
                seq = self.buffer.assign_next(s.batch, s.max_bytes)
                if seq is None:
                    continue
            elif self.buffer.next_assigned_after(s.sent_upto) != seq:
                continue  # acked or rejected while we waited
            text = self.buffer.encode(seq)
            if text is None:
                continue
            count = self.buffer.message_count(seq)
            if self.buffer.is_control(seq) and len(text.encode()) > s.max_bytes:
                log.error("control message %d is over the hub's maxMessageBytes; dropped: %.200s", seq, text)
                self.buffer.reject(seq)
                continue
            if count > s.max_batch or len(text.encode()) > s.max_bytes:
                # Assigned under larger limits (the hub's configuration changed):
                # the hub would refuse it for good, so give its readings new messages.
                log.warning("message %d (%d readings) exceeds the hub's limits; re-batching it", seq, count)
                self.buffer.unassign(seq)
                continue
            s.sent_upto = seq
            if s.unanswered_since is None:
                s.unanswered_since = time.monotonic()
            self.bucket.charge(max(1, count))
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


async def _call(handler: Callable, *args) -> Any:
    """Calls a handler: a coroutine function on the loop, a plain function in
    a worker thread (it may block on I/O); an awaitable answer is awaited."""
    if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(getattr(handler, "__call__", None)):
        answer = await handler(*args)
    else:
        answer = await asyncio.to_thread(handler, *args)
    if inspect.isawaitable(answer):
        answer = await answer
    return answer


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
