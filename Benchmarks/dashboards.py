#!/usr/bin/env python3
"""The hub's CPU and memory with many open dashboards under a steady load.

Starts a hub, drives 1,000 readings/s into it (10 devices x 100 readings/s,
2 metrics each, from a separate process), and measures the hub's CPU time and
resident memory over a window: first with no dashboards (baseline), then with
N dashboards each holding a `/v1/stream` open and reading every event. Ratios
are against the baseline of the same run.

    python3 Benchmarks/dashboards.py --bin .build/release/telehub --dashboards 100
"""
import argparse
import asyncio
import subprocess
import sys
import tempfile
import time

from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "support"))
from telehub_process import Hub  # noqa: E402 (the one hub launcher of tests and benchmarks)

LOAD = r'''
import asyncio, json, sys, time, websockets

url, rate, seconds, tokens = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
async def device(token, per_second):
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        hello = json.loads(await ws.recv())
        seq = hello["lastSeq"]
        start = time.monotonic()
        sent = 0
        async def drain():
            while True:
                await ws.recv()
        reader = asyncio.create_task(drain())
        while time.monotonic() - start < seconds:
            due = int((time.monotonic() - start) * per_second)
            while sent < due:
                seq += 1; sent += 1
                await ws.send(json.dumps({"type": "reading", "seq": seq, "metrics": {"temperature": 20 + sent % 10 / 10, "humidity": 40.5}}))
            await asyncio.sleep(0.01)
        reader.cancel()
async def main():
    await asyncio.gather(*(device(t, rate // len(tokens)) for t in tokens))
asyncio.run(main())
'''


def rss_mib(hub):
    return hub.rss_kib() / 1024


async def dashboard(port, token, counts, index, stop):
    """Holds a stream open and counts reading events, reading in large chunks
    so the client, not the hub, is never the bottleneck."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    await writer.drain()
    tail = b""
    marker = b"event: reading"
    while not stop.is_set():
        try:
            chunk = await asyncio.wait_for(reader.read(1 << 16), 1)
        except asyncio.TimeoutError:
            continue
        if not chunk:
            break
        data = tail + chunk
        counts[index] += data.count(marker)
        tail = data[-(len(marker) - 1):]
        counts[index] -= tail.count(marker)  # never counted twice across chunks
    writer.close()


def measure(hub, seconds):
    cpu0, t0 = hub.cpu_seconds(), time.monotonic()
    peak = rss_mib(hub)
    while time.monotonic() - t0 < seconds:
        time.sleep(0.25)
        peak = max(peak, rss_mib(hub))
    cpu = (hub.cpu_seconds() - cpu0) / (time.monotonic() - t0)
    return cpu * 100, peak


async def run_with_dashboards(args, hub, port, reader_token, device_tokens):
    stop = asyncio.Event()
    counts = [0] * args.dashboards
    tasks = [asyncio.create_task(dashboard(port, reader_token, counts, i, stop)) for i in range(args.dashboards)]
    await asyncio.sleep(1)
    load = start_load(args, port, device_tokens)
    await asyncio.sleep(2)  # settle
    cpu, peak = await asyncio.get_running_loop().run_in_executor(None, measure, hub, args.seconds)
    load.wait()
    await asyncio.sleep(1)
    stop.set()
    await asyncio.gather(*tasks)
    return cpu, peak, counts


def start_load(args, port, tokens):
    return subprocess.Popen([sys.executable, "-c", LOAD, f"ws://127.0.0.1:{port}/v1/ingest", str(args.rate),
                             str(args.seconds + 3), *tokens])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/telehub")
    parser.add_argument("--dashboards", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000, help="readings per second in total")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(tmp, ["--rate-limit", "0"], binary=args.bin)
        loaders = hub.device_tokens("load", 10)
        reader = hub.read_token()
        port = hub.start().port
        try:
            time.sleep(0.5)
            idle_rss = rss_mib(hub)
            load = start_load(args, port, loaders)
            time.sleep(2)
            base_cpu, base_rss = measure(hub, args.seconds)
            load.wait()
            cpu, rss, counts = asyncio.run(run_with_dashboards(args, hub, port, reader, loaders))
        finally:
            hub.stop()
    expected = args.rate * (args.seconds + 3)
    print(f"load: {args.rate} readings/s (2 metrics each) from 10 devices, measured over {args.seconds:.0f} s")
    print(f"hub idle: {idle_rss:.1f} MiB")
    print(f"no dashboards (baseline): CPU {base_cpu:5.1f}% of one core, peak RSS {base_rss:6.1f} MiB")
    print(f"{args.dashboards} dashboards:          CPU {cpu:5.1f}% of one core ({cpu / base_cpu:.2f}x), "
          f"peak RSS {rss:6.1f} MiB (+{rss - base_rss:.1f} MiB)")
    print(f"events per dashboard: min {min(counts)}, max {max(counts)} (about {expected:.0f} sent)")


if __name__ == "__main__":
    main()
