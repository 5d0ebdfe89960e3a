"""The live stream at scale: a thousand subscribers get every event, and a
subscriber that never reads costs the hub bounded memory."""
import asyncio
import json
import socket

import httpx
import pytest

from conftest import batch, now_ms, open_device, wait_for


async def subscribe(port, token, ready):
    """A bare SSE client: returns the ids and data of every reading event until the stream ends."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    await writer.drain()
    events = []
    current = {}
    snapshot = False
    try:
        while True:
            line = await asyncio.wait_for(reader.readline(), 30)
            if not line:
                break
            text = line.decode().rstrip("\r\n")
            if text.startswith("id: "):
                current["id"] = int(text[4:])
            elif text.startswith("event: "):
                current["event"] = text[7:]
            elif text.startswith("data: "):
                current["data"] = text[6:]
            elif text == "" and current:
                if current.get("event") == "snapshot" and not snapshot:
                    snapshot = True
                    ready.release()
                if current.get("event") == "reading":
                    events.append((current["id"], json.loads(current["data"])))
                    if json.loads(current["data"])["metrics"].get("last") == 1:
                        break
                current = {}
    finally:
        writer.close()
    return events


def test_a_thousand_subscribers_receive_every_event(hub):
    reader = hub.read_token()
    token = hub.device_token("fan")
    subscribers = 1000
    messages = 20

    async def run():
        ready = asyncio.Semaphore(0)
        tasks = [asyncio.create_task(subscribe(hub.port, reader, ready)) for _ in range(subscribers)]
        for _ in range(subscribers):
            await asyncio.wait_for(ready.acquire(), 60)
        await asyncio.get_running_loop().run_in_executor(None, send, token, messages)
        return await asyncio.gather(*tasks)

    def send(token, count):
        with open_device(hub, token) as device:
            for seq in range(1, count + 1):
                metrics = {"v": seq, "last": 1 if seq == count else 0}
                device.expect_ack({"type": "reading", "seq": seq, "metrics": metrics}, timeout=30)

    results = asyncio.run(run())
    assert len(results) == subscribers
    first = results[0]
    assert [data["metrics"]["v"] for _, data in first] == list(range(1, messages + 1))
    ids = [event_id for event_id, _ in first]
    assert ids == list(range(ids[0], ids[0] + messages))  # consecutive: nothing lost, nothing repeated
    for events in results:
        assert events == first


@pytest.fixture
def small_buffer_hub(hub_factory):
    return hub_factory("--rate-limit", "0", env={"TELEHUB_STREAM_BUFFER_EVENTS": "200"}).start()



def test_a_subscriber_that_never_reads_is_dropped_and_memory_stays_bounded(small_buffer_hub):
    hub = small_buffer_hub
    reader = hub.read_token()
    stalled = socket.create_connection(("127.0.0.1", hub.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {reader}\r\n\r\n".encode())
    wait_for(lambda: "telehub_stream_clients 1" in httpx.get(f"{hub.url}/metrics").text, message="the stream to open")
    before = hub.rss_kib()
    token = hub.device_token("flood")
    base = now_ms() - 3_600_000
    with open_device(hub, token) as device:
        for seq in range(1, 61):  # 60,000 reading events, each ~90 bytes of SSE
            readings = [{"ts": base + seq * 1000 + i, "metrics": {"value_with_a_long_name": i}} for i in range(1000)]
            device.expect_ack(batch(seq, readings), timeout=30)
    metrics = wait_for(lambda: (text := httpx.get(f"{hub.url}/metrics").text)
                       and "telehub_stream_clients_dropped_total 1" in text and text,
                       message="the stalled subscriber to be dropped")
    assert "telehub_stream_clients 0" in metrics
    growth_mib = (hub.rss_kib() - before) / 1024
    assert growth_mib < 30, f"hub grew {growth_mib:.1f} MiB with a stalled subscriber"
    # Disconnected, not just forgotten: once its buffers drain the socket reaches EOF.
    stalled.settimeout(10)
    received = 0
    while chunk := stalled.recv(1 << 16):
        received += len(chunk)
    assert received < 5 * 1024 * 1024
    stalled.close()
