#!/usr/bin/env python3
"""First ingest rate of a running hub, over real WebSockets.

Starts `telehub serve` on a fresh database, connects N devices, each sending
batches as fast as acks allow (a window of W unacknowledged messages), and
prints values stored per second. Baseline in the same run: the same load with
one device, so machine noise shows up in both figures.

    python3 Benchmarks/ingest_rate.py --bin .build/release/telehub
"""
import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import tempfile
import time

import websockets


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def device(url, token, messages, batch, window, ts0):
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=None) as ws:
        json.loads(await ws.recv())
        acked = 0
        sent = 0
        while acked < messages:
            while sent < messages and sent - acked < window:
                sent += 1
                readings = [{"ts": ts0 + sent * batch + i, "metrics": {"temperature": 20.5, "humidity": 40.1}} for i in range(batch)]
                await ws.send(json.dumps({"type": "batch", "seq": sent, "readings": readings}))
            reply = json.loads(await ws.recv())
            if reply["type"] == "ack":
                acked = reply["seq"]
            else:
                raise RuntimeError(reply)
        return messages * batch * 2


async def load(url, tokens, messages, batch, window):
    ts0 = int(time.time() * 1000) - 86_400_000
    started = time.perf_counter()
    values = await asyncio.gather(*(device(url, t, messages, batch, window, ts0) for t in tokens))
    return sum(values) / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/telehub")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--window", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.sqlite")
        tokens = [subprocess.check_output([args.bin, "token", "create", "--device", f"bench-{i}", "--db", db], text=True).strip()
                  for i in range(args.devices)]
        port = free_port()
        hub = subprocess.Popen([args.bin, "serve", "--db", db, "--port", str(port), "--rate-limit", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert re.search("token=", hub.stdout.readline())
            url = f"ws://127.0.0.1:{port}/v1/ingest"
            baseline = asyncio.run(load(url, tokens[:1], args.messages, args.batch, args.window))
            fleet = asyncio.run(load(url, tokens[1:], args.messages, args.batch, args.window))
        finally:
            hub.terminate()
            hub.wait()
    print(f"1 device:  {baseline:,.0f} values/s (baseline)")
    print(f"{args.devices - 1} devices: {fleet:,.0f} values/s ({fleet / baseline:.2f}x baseline)")
    print(f"settings: {args.messages} batches x {args.batch} readings x 2 metrics per device, window {args.window}")


if __name__ == "__main__":
    main()
