"""Ingest limits from the outside: message size (plain and permessage-deflate),
batch size, metrics per reading, invalid-message budget, binary frames and
invalid UTF-8, each with its contract close code or error object."""
import json
import zlib

import httpx
import pytest

from conftest import (
    RawWebSocket,
    batch,
    bearer,
    close_info,
    now_ms,
    open_device,
    post_json,
    reading,
    stored_readings,
)

LIMIT = 2048
ERROR_FIELDS = {"type", "seq", "code", "message", "retryable"}


def padded(seq, size, ts):
    """A valid reading message whose JSON text is exactly `size` bytes
    (padding in an extra field, which a lenient server ignores and a strict one
    can't reach before the size check). Highly compressible."""
    message = {"type": "reading", "seq": seq, "ts": ts, "metrics": {"v": seq}, "pad": ""}
    message["pad"] = "x" * (size - len(json.dumps(message)))
    text = json.dumps(message)
    assert len(text.encode()) == size
    return text


def assert_error(reply, code, seq, retryable=False):
    assert reply["type"] == "error", reply
    assert set(reply) == ERROR_FIELDS, reply
    assert reply["code"] == code and reply["seq"] == seq and reply["retryable"] is retryable, reply
    assert isinstance(reply["message"], str) and reply["message"], reply


# ---------------------------------------------------------------------------
# --max-message-bytes


@pytest.fixture
def small_hub(hub_factory):
    return hub_factory("--max-message-bytes", str(LIMIT)).start()


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_message_of_exactly_max_bytes_is_accepted(small_hub, compression):
    hub = small_hub
    token, ts = hub.device_token("edge"), now_ms() - 1000
    with open_device(hub, token, compression=compression) as device:
        assert device.hello["maxMessageBytes"] == LIMIT
        device.send(padded(1, LIMIT, ts))
        assert device.recv() == {"type": "ack", "seq": 1}
    assert stored_readings(hub, "edge") == {("v", ts): 1}


def test_message_over_max_bytes_closes_1009(small_hub):
    hub = small_hub
    token, ts = hub.device_token("big"), now_ms() - 1000
    with open_device(hub, token, compression=None) as device:
        assert "Sec-WebSocket-Extensions" not in device.ws.response.headers
        device.expect_ack(reading(1, {"v": 0}, ts=ts - 1))
        device.send(padded(2, LIMIT + 1, ts))
        assert close_info(device)[0] == 1009
    assert stored_readings(hub, "big") == {("v", ts - 1): 0}
    # The hub goes on serving the device.
    with open_device(hub, token) as device:
        assert device.hello["lastSeq"] == 1
        device.expect_ack(reading(3, {"v": 3}, ts=ts + 1))


@pytest.mark.parametrize("size", [LIMIT + 1, 4 * LIMIT, 32 * LIMIT])
def test_deflated_message_checked_after_decompression(small_hub, size):
    """The compressed frame is far below the limit; the message it carries is
    not. The server must judge the decompressed message and close with 1009."""
    hub = small_hub
    token, ts = hub.device_token("zip"), now_ms() - 1000
    text = padded(1, size, ts)
    assert len(zlib.compress(text.encode())) < LIMIT // 2  # only decompression can tell
    with open_device(hub, token) as device:
        assert "permessage-deflate" in device.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        device.send(text)
        code, reason = close_info(device)
        assert code == 1009, f"{size}-byte message (deflated) closed with {code} {reason!r}, expected 1009"
    assert stored_readings(hub, "zip") == {}


def test_http_body_over_max_bytes_is_413_with_json(small_hub):
    hub = small_hub
    token, ts = hub.device_token("hbig"), now_ms() - 1000
    response = post_json(hub, "/v1/ingest", token, padded(1, LIMIT + 1, ts))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json(), dict) and response.json()
    # A chunked body (no Content-Length) is held to the same limit.
    chunks = [padded(1, LIMIT * 2, ts).encode()[i:i + 512] for i in range(0, LIMIT * 2, 512)]
    chunked = httpx.post(f"{hub.url}/v1/ingest", headers=bearer(token), content=iter(chunks), timeout=10)
    assert chunked.status_code == 413
    assert stored_readings(hub, "hbig") == {}
    ok = post_json(hub, "/v1/ingest", token, padded(2, LIMIT, ts))
    assert ok.status_code == 200 and ok.json() == {"ack": 2}


# ---------------------------------------------------------------------------
# --max-batch and --max-metrics


def test_batch_over_max_batch_is_batch_too_large(hub_factory):
    hub = hub_factory("--max-batch", "5").start()
    token, t0 = hub.device_token("b"), now_ms() - 10_000
    with open_device(hub, token) as device:
        assert device.hello["maxBatch"] == 5
        device.expect_ack(batch(1, [{"ts": t0 + i, "metrics": {"v": i}} for i in range(5)]))
        reply = device.request(batch(2, [{"ts": t0 + 100 + i, "metrics": {"v": i}} for i in range(6)]))
        assert_error(reply, "batch_too_large", 2)
        assert reply["message"].startswith("readings")
        # The connection stays open and the next message is stored.
        device.expect_ack(batch(3, [{"ts": t0 + 200, "metrics": {"v": 7}}]))
    assert stored_readings(hub, "b") == {**{("v", t0 + i): i for i in range(5)}, ("v", t0 + 200): 7}
    six = batch(4, [{"ts": t0 + 300 + i, "metrics": {"v": i}} for i in range(6)])
    response = post_json(hub, "/v1/ingest", token, six)
    assert response.status_code == 400
    assert_error(response.json(), "batch_too_large", 4)


def test_reading_over_max_metrics_is_batch_too_large(hub_factory):
    hub = hub_factory("--max-metrics", "3").start()
    token, t0 = hub.device_token("m"), now_ms() - 10_000
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"a": 1, "b": 2, "c": 3}, ts=t0))
        reply = device.request(reading(2, {"a": 1, "b": 2, "c": 3, "d": 4}, ts=t0 + 1))
        assert_error(reply, "batch_too_large", 2)
        assert reply["message"] == "metrics: 4 metrics, at most 3"
        # In a batch the path names the reading; the whole message is rejected.
        reply = device.request(batch(3, [{"ts": t0 + 2, "metrics": {"a": 1}},
                                         {"ts": t0 + 3, "metrics": {k: 1 for k in "abcde"}}]))
        assert_error(reply, "batch_too_large", 3)
        assert reply["message"] == "readings[1].metrics: 5 metrics, at most 3"
        device.expect_ack(reading(4, {"a": 9}, ts=t0 + 4))
    assert stored_readings(hub, "m") == {("a", t0): 1, ("b", t0): 2, ("c", t0): 3, ("a", t0 + 4): 9}
    response = post_json(hub, "/v1/ingest", token, reading(5, {"a": 1, "b": 2, "c": 3, "d": 4}, ts=t0 + 5))
    assert response.status_code == 400
    assert_error(response.json(), "batch_too_large", 5)
    assert response.json()["message"] == "metrics: 4 metrics, at most 3"


def test_default_metrics_limit_is_256(hub):
    token, ts = hub.device_token("wide"), now_ms() - 1000
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {f"m{i}": i for i in range(256)}, ts=ts))
        reply = device.request(reading(2, {f"m{i}": i for i in range(257)}, ts=ts + 1))
        assert_error(reply, "batch_too_large", 2)
        assert reply["message"] == "metrics: 257 metrics, at most 256"
    assert len(stored_readings(hub, "wide")) == 256


# ---------------------------------------------------------------------------
# --max-errors


def test_more_than_max_errors_invalid_messages_close_1008(hub_factory):
    hub = hub_factory("--max-errors", "3").start()
    token, ts = hub.device_token("noisy"), now_ms() - 1000
    with open_device(hub, token) as device:
        # Three invalid messages of different kinds are each answered, and
        # valid messages in between are still acknowledged.
        assert device.request("{not json")["code"] == "invalid_json"
        device.expect_ack(reading(1, {"v": 1}, ts=ts))
        assert_error(device.request(reading(2, {"v": "x"}, ts=ts + 1)), "invalid_value", 2)
        device.expect_ack(reading(3, {"v": 3}, ts=ts + 3))
        assert_error(device.request(reading(4, {"v": 4}, ts=5)), "invalid_timestamp", 4)
        device.expect_ack(reading(5, {"v": 5}, ts=ts + 5))
        # The fourth within 10 s is one too many.
        device.send(reading(6, {"bad name!": 1}, ts=ts + 6))
        code, reason = close_info(device)
        assert code == 1008, (code, reason)
    assert stored_readings(hub, "noisy") == {("v", ts): 1, ("v", ts + 3): 3, ("v", ts + 5): 5}
    # The budget is per connection: a new connection starts afresh.
    with open_device(hub, token) as device:
        for _ in range(3):
            assert device.request("[]")["type"] == "error"
        device.expect_ack(reading(7, {"v": 7}, ts=ts + 7))


# ---------------------------------------------------------------------------
# Frame types


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_binary_frame_closes_1003(hub, compression):
    token, ts = hub.device_token("bin"), now_ms() - 1000
    with open_device(hub, token, compression=compression) as device:
        device.expect_ack(reading(1, {"v": 1}, ts=ts))
        device.ws.send(json.dumps(reading(2, {"v": 2}, ts=ts + 1)).encode())  # bytes: a binary frame
        assert close_info(device)[0] == 1003
    assert stored_readings(hub, "bin") == {("v", ts): 1}


def test_invalid_utf8_text_frame_closes_1007(hub):
    token, ts = hub.device_token("utf"), now_ms() - 1000
    with RawWebSocket(hub, token) as raw:
        assert raw.status == 101
        assert raw.recv_json()["type"] == "hello"
        raw.send_json(reading(1, {"v": 1}, ts=ts))
        assert raw.recv_json() == {"type": "ack", "seq": 1}
        # Valid JSON structure, but a lone 0xFF byte inside a string.
        raw.send_text(b'{"type":"reading","seq":2,"metrics":{"v":2},"note":"\xff"}')
        code, _ = raw.close_frame()
        assert code == 1007
    assert stored_readings(hub, "utf") == {("v", ts): 1}


def test_invalid_utf8_split_across_fragments_closes_1007(hub):
    """A multi-byte sequence cut off at the end of a fragmented message."""
    token = hub.device_token("frag")
    with RawWebSocket(hub, token) as raw:
        assert raw.recv_json()["type"] == "hello"
        raw.send_frame(0x1, b'{"type":"ping","id":"', fin=False)
        raw.send_frame(0x0, b'\xe2\x82"}', fin=True)  # truncated U+20AC, then the end
        code, _ = raw.close_frame()
        assert code == 1007
