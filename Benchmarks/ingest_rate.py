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
import tempfile
import time

import websockets

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "support"))
from telehub_process import Hub  # noqa: E402 (the one hub launcher of tests and benchmarks)


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


def measured(hub, run):
    """Values/s of one load, and values per second of the hub's own CPU time
    (from /proc: the load generator's share of the machine is not counted)."""
    cpu = hub.cpu_seconds()
    started = time.perf_counter()
    values = run()
    elapsed = time.perf_counter() - started
    return values / elapsed, values / max(1e-9, hub.cpu_seconds() - cpu)


async def load(url, tokens, messages, batch, window):
    ts0 = int(time.time() * 1000) - 86_400_000
    values = await asyncio.gather(*(device(url, t, messages, batch, window, ts0) for t in tokens))
    return sum(values)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/telehub")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--window", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(tmp, ["--rate-limit", "0"], binary=args.bin)
        tokens = hub.device_tokens("bench", args.devices)
        hub.start()
        try:
            url = hub.ws_url
            baseline = measured(hub, lambda: asyncio.run(load(url, tokens[:1], args.messages, args.batch, args.window)))
            fleet = measured(hub, lambda: asyncio.run(load(url, tokens[1:], args.messages, args.batch, args.window)))
        finally:
            hub.stop()
    (rate, per_cpu), (fleet_rate, fleet_per_cpu) = baseline, fleet
    print(f"1 device:  {rate:,.0f} values/s, {per_cpu:,.0f} values per hub CPU second (baseline)")
    print(f"{args.devices - 1} devices: {fleet_rate:,.0f} values/s ({fleet_rate / rate:.2f}x baseline), "
          f"{fleet_per_cpu:,.0f} values per hub CPU second ({fleet_per_cpu / per_cpu:.2f}x)")
    print(f"settings: {args.messages} batches x {args.batch} readings x 2 metrics per device, window {args.window}")


if __name__ == "__main__":
    main()
