"""`python3 -m telehub_device`: readings from stdin (or --demo) to a hub.
With --demo the device also answers the command `set-interval` and the
desired state `{"interval": N}`, to try the hub's control side on."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import sys
import threading
import time

from .client import TelehubDevice
from .wire import ingest_url


class _DemoInterval:
    """The demo's sending interval, which the operator changes by command or
    desired state; a change wakes the demo at once, not after the old wait."""

    def __init__(self, seconds: float = 1.0):
        self.seconds = seconds
        self.changed = asyncio.Event()

    def set(self, seconds) -> dict:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0.1 <= seconds <= 3600:
            raise ValueError(f"seconds must be a number from 0.1 to 3600, not {seconds!r}")
        self.seconds = seconds
        self.changed.set()
        return {"interval": seconds}

    async def sleep(self) -> None:
        self.changed.clear()
        try:
            await asyncio.wait_for(self.changed.wait(), self.seconds)
        except asyncio.TimeoutError:
            pass

    def answer(self, device: TelehubDevice) -> None:
        """Registers the demo's command and desired-state handlers."""

        @device.on_command("set-interval")
        async def set_interval(args: dict) -> dict:
            if "seconds" not in args:
                raise ValueError('args must be {"seconds": N}, N from 0.1 to 3600')
            return self.set(args["seconds"])

        @device.on_desired
        async def apply(state: dict, version: int) -> dict:
            if "interval" in state:
                return self.set(state["interval"])
            return {"interval": self.seconds}


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

    interval = _DemoInterval()
    if args.demo:
        interval.answer(device)

    async def demo():
        while True:
            t = time.time()
            device.send({"temperature": round(21 + 3 * math.sin(2 * math.pi * t / 600) + random.uniform(-0.1, 0.1), 2)})
            await interval.sleep()

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
    parser.add_argument("--demo", action="store_true",
                        help="send a sine-wave temperature every second; the command set-interval "
                             '({"seconds": N}) and the desired state {"interval": N} change the interval')
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

