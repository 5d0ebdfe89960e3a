#!/usr/bin/env python3
"""Memory per device connection, with and without permessage-deflate, and the
compression ratio of typical device traffic.

For each mode it starts a fresh hub, reads its resident memory, opens N
device connections that each send a few readings (so compression state is
allocated), and reads the memory again. Traffic goes through a counting TCP
proxy, so the ratio is measured on the wire, not estimated. The plain run is
the baseline of the same invocation.

    python3 Benchmarks/connections.py --bin .build/release/telehub --connections 200
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


class CountingProxy:
    """Forwards TCP to the hub and counts the bytes each way."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.upstream = 0
        self.downstream = 0

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def handle(self, reader, writer):
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(source, sink, count):
            try:
                while data := await source.read(65536):
                    count(len(data))
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        def up(n):
            self.upstream += n

        def down(n):
            self.downstream += n

        await asyncio.gather(pipe(reader, target_writer, up), pipe(target_reader, writer, down))


def reading(seq, ts):
    return json.dumps({"type": "reading", "seq": seq, "ts": ts,
                       "metrics": {"temperature": round(20 + seq % 7 * 0.13, 2), "humidity": round(40 + seq % 5 * 0.7, 1),
                                   "battery": round(97 - seq * 0.01, 2)}})


async def device(url, token, messages, compression):
    ws = await websockets.connect(url, additional_headers={"Authorization": f"Bearer {token}"}, compression=compression)
    hello = json.loads(await ws.recv())
    negotiated = "permessage-deflate" in (ws.response.headers.get("Sec-WebSocket-Extensions") or "")
    ts0 = int(time.time() * 1000) - 3_600_000
    for i in range(1, messages + 1):
        await ws.send(reading(hello["lastSeq"] + i, ts0 + i * 1000))
        reply = json.loads(await ws.recv())
        assert reply["type"] == "ack", reply
    return ws, negotiated


async def measure(hub, tokens, messages, compression):
    hub.start()
    try:
        time.sleep(0.5)
        before = hub.rss_kib()
        proxy = CountingProxy(hub.port)
        proxy_port = await proxy.start()
        url = f"ws://127.0.0.1:{proxy_port}/v1/ingest"
        results = []
        for start in range(0, len(tokens), 50):  # connect in waves, as a fleet would
            results += await asyncio.gather(*(device(url, t, messages, compression) for t in tokens[start:start + 50]))
        time.sleep(0.5)
        after = hub.rss_kib()
        negotiated = all(n for _, n in results)
        await asyncio.gather(*(ws.close() for ws, _ in results))
        proxy.server.close()
        return {"per_connection_kib": (after - before) / len(tokens), "upstream": proxy.upstream,
                "downstream": proxy.downstream, "negotiated": negotiated}
    finally:
        hub.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/telehub")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--messages", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(tmp, binary=args.bin)
        tokens = hub.device_tokens("conn", args.connections)
        plain = asyncio.run(measure(hub, tokens, args.messages, None))
        deflate = asyncio.run(measure(hub, tokens, args.messages, "deflate"))
    assert not plain["negotiated"] and deflate["negotiated"], (plain, deflate)
    print(f"{args.connections} connections, {args.messages} readings each (3 metrics), acks awaited")
    print(f"memory per connection, plain:   {plain['per_connection_kib']:7.1f} KiB (baseline)")
    print(f"memory per connection, deflate: {deflate['per_connection_kib']:7.1f} KiB "
          f"({deflate['per_connection_kib'] / plain['per_connection_kib']:.2f}x baseline)")
    up = plain["upstream"] / deflate["upstream"]
    down = plain["downstream"] / deflate["downstream"]
    print(f"bytes device->hub: plain {plain['upstream']:,}  deflate {deflate['upstream']:,}  ratio {up:.2f}:1")
    print(f"bytes hub->device: plain {plain['downstream']:,}  deflate {deflate['downstream']:,}  ratio {down:.2f}:1")


if __name__ == "__main__":
    main()
