"""Telehub reference device client: a durable offline buffer and a WebSocket
sender that never loses or duplicates a reading. Copy this folder next to your program.

    pip install websockets          # 13 or newer
    python3 -m telehub_device --url http://127.0.0.1:8080 \\
        --token thd_... --buffer ./device.sqlite --demo

In a program::

    import asyncio
    from telehub_device import TelehubDevice

    async def main():
        async with TelehubDevice("http://hub:8080", "thd_...", "device.sqlite") as device:
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
* Commands (`on_command`) run at most once, even across a reboot: a command
  is recorded as started before its handler runs, and its result is kept in
  the buffer like a reading until the hub has it. Desired state
  (`on_desired`) is applied once per version and reported with it.

Only the standard library and `websockets` are used.
"""
from .buffer import INTERRUPTED, ControlBacklogFull, Counters, ReadingBuffer
from .cli import main
from .client import NO_HANDLER, TelehubDevice, __version__, _ws_connect
from .pacing import Backoff, TokenBucket
from .wire import ingest_url, now_ms, validate_reading

__all__ = [
    "TelehubDevice", "ReadingBuffer", "Backoff", "TokenBucket", "Counters", "ControlBacklogFull", "ingest_url",
    "main", "now_ms", "validate_reading", "INTERRUPTED", "NO_HANDLER", "__version__", "_ws_connect",
]
