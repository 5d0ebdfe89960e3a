#!/usr/bin/env python3
"""Device send → dashboard receive latency for three flush policies in the
same run: a flush every 20 ms (the previous default), group commit waiting
at most 2 ms for more (the default), and group commit without waiting.

Starts a hub for each, opens `/v1/stream`, and has
one device send readings at a steady rate over a WebSocket. Each reading
carries its own sequence number as its value; the time from sending it to the
stream delivering its `reading` event is one sample. Prints p50/p99/p999 and
the hub's CPU per second for each.

    python3 Benchmarks/latency.py --bin .build/release/telehub --rate 1000 --seconds 10
"""
import argparse
import asyncio
import json
import tempfile
import time

import websockets

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "support"))
from telehub_process import Hub  # noqa: E402 (the one hub launcher of tests and benchmarks)


async def run_load(port, token, reader_token, rate, seconds):
    sent_at = {}
    latencies = []
    done = asyncio.Event()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {reader_token}\r\n\r\n".encode())
    await writer.drain()

    async def watch():
        buffer = b""
        while not done.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(1 << 16), 1)
            except asyncio.TimeoutError:
                continue
            if not chunk:
                return
            now = time.monotonic()
            buffer += chunk
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                if b"event: reading" not in event:
                    continue
                data = event.split(b"data: ", 1)[1].split(b"\n", 1)[0]
                value = json.loads(data)["metrics"]["n"]
                if value in sent_at:
                    latencies.append(now - sent_at.pop(value))

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.3)  # the snapshot first
    url = f"ws://127.0.0.1:{port}/v1/ingest"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}, compression=None) as ws:
        seq = json.loads(await ws.recv())["lastSeq"]
        drain = asyncio.create_task(drain_replies(ws))
        start = time.monotonic()
        sent = 0
        while time.monotonic() - start < seconds:
            due = int((time.monotonic() - start) * rate)
            while sent < due:
                seq += 1
                sent += 1
                sent_at[sent] = time.monotonic()
                await ws.send(json.dumps({"type": "reading", "seq": seq, "metrics": {"n": sent}}))
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.5)
        drain.cancel()
    done.set()
    await watcher
    writer.close()
    return latencies, sent


async def drain_replies(ws):
    while True:
        await ws.recv()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def measure(binary, rate, seconds, *settings):
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(tmp, ["--rate-limit", "0", *settings], binary=binary)
        (token,) = hub.device_tokens("lat", 1)
        reader = hub.read_token()
        hub.start()
        try:
            cpu = hub.cpu_seconds()
            latencies, sent = asyncio.run(run_load(hub.port, token, reader, rate, seconds))
            used = hub.cpu_seconds() - cpu
        finally:
            hub.stop()
    return latencies, sent, used


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/telehub")
    parser.add_argument("--rate", type=int, default=1000, help="readings per second")
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(f"one device, {args.rate} readings/s for {args.seconds:.0f} s, one stream client; latency send → event")
    for name, settings in [("flush every 20 ms (previous default)", ("--flush-interval-ms", "20")),
                           ("group commit, waiting <= 2 ms (default)", ()),
                           ("group commit, no wait", ("--flush-interval-ms", "0"))]:
        latencies, sent, cpu = measure(args.bin, args.rate, args.seconds, *settings)
        print(f"  {name:40} p50 {percentile(latencies, 0.5):6.2f} ms  p99 {percentile(latencies, 0.99):6.2f} ms  "
              f"p999 {percentile(latencies, 0.999):6.2f} ms  ({len(latencies)} of {sent} seen; hub CPU "
              f"{cpu / args.seconds * 100:.1f}% of a core)")


if __name__ == "__main__":
    main()
