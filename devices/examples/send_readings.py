#!/usr/bin/env python3
"""A minimal Telehub device: connects, resumes after `hello.lastSeq`, sends a
reading every second and waits for each cumulative ack.

    pip install websockets
    python3 send_readings.py --url ws://127.0.0.1:8080/v1/ingest --token thd_...

This shows the protocol only; it keeps no offline buffer and does not
reconnect. Production clients should persist unacknowledged readings and
reconnect with backoff and jitter: ../python/telehub_device/ does.
"""
import argparse
import asyncio
import json
import math
import random
import time

import websockets


async def run(url: str, token: str, count: int) -> None:
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        hello = json.loads(await ws.recv())
        print(f"hello: device={hello['device']} lastSeq={hello['lastSeq']} maxBatch={hello['maxBatch']}")
        seq = hello["lastSeq"]  # continue after what the hub has durably stored
        for _ in range(count):
            seq += 1
            now = int(time.time() * 1000)
            temperature = 21 + 3 * math.sin(now / 3_600_000) + random.uniform(-0.2, 0.2)
            await ws.send(json.dumps({
                "type": "reading", "seq": seq, "ts": now,
                "metrics": {"temperature": round(temperature, 2), "door_open": random.random() < 0.1},
            }))
            reply = json.loads(await ws.recv())
            if reply["type"] == "ack":
                print(f"ack {reply['seq']}: stored")
            elif reply["type"] == "error":
                print(f"error {reply['code']}: {reply['message']} (retryable: {reply['retryable']})")
            await asyncio.sleep(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="ws://127.0.0.1:8080/v1/ingest")
    parser.add_argument("--token", required=True, help="a device token from `telehub token create --device NAME`")
    parser.add_argument("--count", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(run(args.url, args.token, args.count))
