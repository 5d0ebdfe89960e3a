"""Ingest under pressure: per-device rate limit (WebSocket and HTTP), a full
ingest queue (`overloaded`), and permessage-deflate negotiation. A client that
follows the contract (resend a refused message after `retryAfterMs`) must end
up with every acknowledged reading stored."""
import json
import math
import threading
import time

import httpx
import pytest

from conftest import (
    device_status,
    batch,
    metric_value,
    now_ms,
    open_device,
    post_json,
    reading,
    scrape,
    stored_readings,
)

RETRYABLE_FIELDS = {"type", "seq", "code", "message", "retryable", "retryAfterMs"}
RATE_ARGS = ("--max-batch", "10", "--rate-limit", "10", "--rate-burst", "10")


def ten(seq, t0):
    """A batch of 10 readings (the whole burst) with distinct timestamps."""
    return batch(seq, [{"ts": t0 + seq * 100 + i, "metrics": {"v": seq * 100 + i}} for i in range(10)])


def rows(*messages):
    out = {}
    for message in messages:
        for r in message.get("readings") or [message]:
            for metric, value in r["metrics"].items():
                out[(metric, r["ts"])] = value
    return out


def assert_retryable(reply, code, seq):
    assert reply["type"] == "error", reply
    assert set(reply) == RETRYABLE_FIELDS, reply
    assert reply["code"] == code and reply["seq"] == seq, reply
    assert reply["retryable"] is True, reply
    assert isinstance(reply["retryAfterMs"], int) and reply["retryAfterMs"] > 0, reply
    assert isinstance(reply["message"], str) and reply["message"], reply
    return reply["retryAfterMs"]


def send_until_acked(device, message, timeout=10.0):
    """What a device following the contract does: resend a message refused
    with a retryable error after `retryAfterMs`, until it is acknowledged."""
    deadline = time.monotonic() + timeout
    while True:
        reply = device.request(message)
        if reply == {"type": "ack", "seq": message["seq"]}:
            return
        assert reply.get("retryable") is True, f"sent seq {message['seq']}, got {reply}"
        assert time.monotonic() < deadline, "never acknowledged"
        time.sleep(reply["retryAfterMs"] / 1000)


def post_until_acked(hub, token, message, timeout=10.0):
    """`send_until_acked` over HTTP: 429/503 are retried after `retryAfterMs`."""
    deadline = time.monotonic() + timeout
    while True:
        response = post_json(hub, "/v1/ingest", token, message)
        if response.status_code == 200:
            assert response.json() == {"ack": message["seq"]}
            return
        assert response.status_code in (429, 503), response.text
        assert time.monotonic() < deadline, "never acknowledged"
        time.sleep(response.json()["retryAfterMs"] / 1000)


# ---------------------------------------------------------------------------
# Rate limit over WebSocket


def test_rate_limited_message_is_refused_then_accepted_after_retry_after(hub_factory):
    hub = hub_factory(*RATE_ARGS).start()
    token, t0 = hub.device_token("rl"), now_ms() - 100_000
    with open_device(hub, token) as device:
        assert device.hello["maxBatch"] == 10
        first, second = ten(1, t0), ten(2, t0)
        device.expect_ack(first)
        wait_ms = assert_retryable(device.request(second), "rate_limited", 2)
        # 10 readings at 10 readings/s: the bucket refills in about a second.
        assert 500 <= wait_ms <= 1100, wait_ms
        assert stored_readings(hub, "rl") == rows(first)
        # Asking again at once changes nothing.
        assert_retryable(device.request(second), "rate_limited", 2)
        time.sleep(wait_ms / 1000)
        device.expect_ack(second)
        assert stored_readings(hub, "rl") == rows(first, second)


def test_rate_limit_is_per_device(hub_factory):
    hub = hub_factory(*RATE_ARGS).start()
    t0 = now_ms() - 100_000
    with open_device(hub, hub.device_token("busy")) as busy, open_device(hub, hub.device_token("calm")) as calm:
        busy.expect_ack(ten(1, t0))
        assert_retryable(busy.request(ten(2, t0)), "rate_limited", 2)
        calm.expect_ack(ten(1, t0))  # a full burst of its own


def test_burst_is_at_least_max_batch(hub_factory):
    hub = hub_factory("--max-batch", "10", "--rate-limit", "10", "--rate-burst", "2").start()
    token, t0 = hub.device_token("small-burst"), now_ms() - 100_000
    with open_device(hub, token) as device:
        device.expect_ack(ten(1, t0))  # a batch of maxBatch readings is always possible
        assert_retryable(device.request(ten(2, t0)), "rate_limited", 2)
    assert stored_readings(hub, "small-burst") == rows(ten(1, t0))


def test_rate_limited_messages_do_not_count_as_invalid(hub_factory):
    hub = hub_factory(*RATE_ARGS, "--max-errors", "2").start()
    token, t0 = hub.device_token("patient"), now_ms() - 100_000
    with open_device(hub, token) as device:
        device.expect_ack(ten(1, t0))
        for _ in range(5):
            assert_retryable(device.request(ten(2, t0)), "rate_limited", 2)
        # Still connected: backpressure is not misbehaviour.
        send_until_acked(device, ten(2, t0))
        assert device.request({"type": "ping", "id": "still-here"}) == {"type": "pong", "id": "still-here"}


def test_after_a_retryable_refusal_later_messages_wait_for_the_resend(hub_factory):
    """seq 2 is rate limited; seq 3, sent before the device resends, is held
    back with the same retryable error (the hub never lets a later seq commit
    past a refused one, or `lastSeq` would hide the gap and the resend of seq 2
    would be taken for a duplicate). Resending 2 then 3, as the contract says,
    stores both."""
    hub = hub_factory(*RATE_ARGS).start()
    token, t0 = hub.device_token("reorder"), now_ms() - 100_000
    first, second, third = ten(1, t0), ten(2, t0), reading(3, {"w": 3}, ts=t0 + 5)
    with open_device(hub, token) as device:
        device.expect_ack(first)
        wait_ms = assert_retryable(device.request(second), "rate_limited", 2)
        time.sleep(0.15)  # room for one reading: only the hold refuses it
        held = device.request(third)
        assert_retryable(held, "rate_limited", 3)
        assert "send again from seq 2" in held["message"]
        assert held["retryAfterMs"] <= wait_ms
        time.sleep(wait_ms / 1000)
        send_until_acked(device, second)
        send_until_acked(device, third)
        assert device_status(hub, "reorder", hub.read_token())["lastSeq"] == 3
    assert stored_readings(hub, "reorder") == rows(first, second, third)


def test_a_new_session_releases_the_hold(hub_factory):
    """A device that reconnects resumes from hello.lastSeq; a hold from its
    earlier session must not block it."""
    hub = hub_factory(*RATE_ARGS).start()
    token, t0 = hub.device_token("rehold"), now_ms() - 100_000
    with open_device(hub, token) as device:
        device.expect_ack(ten(1, t0))
        wait_ms = assert_retryable(device.request(ten(2, t0)), "rate_limited", 2)
    time.sleep(wait_ms / 1000)
    with open_device(hub, token) as device:
        assert device.hello["lastSeq"] == 1
        send_until_acked(device, reading(5, {"w": 5}, ts=t0 + 7))


# ---------------------------------------------------------------------------
# Rate limit over HTTP


def test_http_rate_limited_is_429_with_retry_after(hub_factory):
    hub = hub_factory(*RATE_ARGS).start()
    token, t0 = hub.device_token("hrl"), now_ms() - 100_000
    first, second = ten(1, t0), ten(2, t0)
    ok = post_json(hub, "/v1/ingest", token, first)
    assert ok.status_code == 200 and ok.json() == {"ack": 1}
    refused = post_json(hub, "/v1/ingest", token, second)
    assert refused.status_code == 429, refused.text
    body = refused.json()
    wait_ms = assert_retryable(body, "rate_limited", 2)
    retry_after = refused.headers.get("Retry-After")
    assert retry_after is not None and retry_after.isdigit(), refused.headers
    assert int(retry_after) >= 1 and int(retry_after) * 1000 >= wait_ms
    assert int(retry_after) <= math.ceil(wait_ms / 1000) + 1
    assert stored_readings(hub, "hrl") == rows(first)
    time.sleep(wait_ms / 1000)
    again = post_json(hub, "/v1/ingest", token, second)
    assert again.status_code == 200 and again.json() == {"ack": 2}
    assert stored_readings(hub, "hrl") == rows(first, second)


def test_http_and_websocket_share_the_device_budget(hub_factory):
    hub = hub_factory(*RATE_ARGS).start()
    token, t0 = hub.device_token("both"), now_ms() - 100_000
    with open_device(hub, token) as device:
        device.expect_ack(ten(1, t0))
        refused = post_json(hub, "/v1/ingest", token, ten(2, t0))
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"


# ---------------------------------------------------------------------------
# Overload: a full ingest queue. The queue holds at least --flush-values
# values, so it fills only while a commit is running: one message of F values
# is committed (slowly, ~0.2 s for 20k values), the next F values fill the
# queue meanwhile, and a third message waits longer than --overload-wait-ms.

F = 20_000
# A waiting message is refused after 2 ms: far less than committing F values
# takes, so the small reading of provoke_overload meets a full queue even when
# commits are fast (group commit starts the first batch at once).
OVERLOAD_ARGS = ("--queue-values", str(F), "--flush-values", str(F), "--overload-wait-ms", "2", "--rate-limit", "0",
                 "--max-message-bytes", str(8 << 20), "--max-batch", "100000")


def full_queue_batch(seq, base):
    """F values: F/20 readings of 20 metrics each."""
    return batch(seq, [{"ts": base + i, "metrics": {f"m{k}": i for k in range(20)}} for i in range(F // 20)])


def replies_covering(device, seqs):
    """Reads replies until each of `seqs` is acked (acks are cumulative) or refused."""
    replies, open_seqs = [], set(seqs)
    while open_seqs:
        reply = device.recv(timeout=30)
        replies.append(reply)
        if reply["type"] == "ack":
            open_seqs = {s for s in open_seqs if s > reply["seq"]}
        else:
            open_seqs.discard(reply["seq"])
    return replies


def provoke_overload(device, t0, attempts=10):
    """Two batches of F values each, then a small reading, pipelined: the
    second batch fills the queue while the first is committed, and the small
    reading waits for room longer than --overload-wait-ms. Returns (all
    messages sent, the small reading, its refusal). Tries again with fresh
    seqs if the small reading slipped through (a commit faster than the
    parsing of the second batch, e.g. on a busy machine)."""
    sent = []
    for attempt in range(attempts):
        seq = attempt * 3 + 1
        big1 = full_queue_batch(seq, t0 + seq * F)
        big2 = full_queue_batch(seq + 1, t0 + (seq + 1) * F)
        small = reading(seq + 2, {"x": seq + 2}, ts=t0 - seq - 2)
        for message in (big1, big2, small):
            device.send(json.dumps(message))
        sent += [big1, big2, small]
        replies = replies_covering(device, [seq, seq + 1, seq + 2])
        refused = [r for r in replies if r["type"] == "error"]
        for r in refused:
            assert r["seq"] == seq + 2, f"only the small reading may meet a full queue: {replies}"
        if refused:
            return sent, small, refused[0]
    raise AssertionError(f"the small reading never met a full queue in {attempts} attempts (test precondition)")


def test_full_queue_answers_overloaded_and_retry_is_stored(hub_factory):
    hub = hub_factory(*OVERLOAD_ARGS).start()
    token, t0 = hub.device_token("flood"), now_ms() - 3_600_000
    with open_device(hub, token, compression=None) as device:
        sent, small, refusal = provoke_overload(device, t0)
        assert assert_retryable(refusal, "overloaded", small["seq"]) == 2  # --overload-wait-ms
        (key,) = rows(small)
        assert key not in stored_readings(hub, "flood")
        send_until_acked(device, small)
    stored = stored_readings(hub, "flood")
    assert stored == rows(*sent)


def test_messages_after_an_overloaded_one_wait_for_its_resend(hub_factory):
    """As with the rate limit: once a reading is refused as `overloaded`, the
    device's next message is held back with the same error until the refused
    one is sent again; resending both in order stores both."""
    hub = hub_factory(*OVERLOAD_ARGS).start()
    token, t0 = hub.device_token("flood2"), now_ms() - 3_600_000
    with open_device(hub, token, compression=None) as device:
        sent, small, refusal = provoke_overload(device, t0)
        assert_retryable(refusal, "overloaded", small["seq"])
        later = reading(small["seq"] + 1, {"x": small["seq"] + 1}, ts=t0 - 1000)
        held = device.request(later)
        assert_retryable(held, "overloaded", later["seq"])
        assert f"send again from seq {small['seq']}" in held["message"]
        send_until_acked(device, small)
        send_until_acked(device, later)
    stored = stored_readings(hub, "flood2")
    assert stored.get(("x", t0 - 1000)) == later["seq"]
    assert stored == rows(*sent, small, later)


class Flood(threading.Thread):
    """A device that keeps three full-queue batches in flight until stopped
    (the same readings each time, so overwrites; only the queue matters)."""

    def __init__(self, hub, token, t0):
        super().__init__(daemon=True)
        readings = json.dumps(full_queue_batch(0, t0)["readings"])
        self.text = lambda seq: '{"type":"batch","seq":%d,"readings":%s}' % (seq, readings)
        self.device = open_device(hub, token, compression=None)
        self.stop = threading.Event()
        self.error = None

    def run(self):
        outstanding, seq = set(), 0
        try:
            while not self.stop.is_set():
                while len(outstanding) < 3:
                    seq += 1
                    self.device.send(self.text(seq))
                    outstanding.add(seq)
                reply = self.device.recv(timeout=30)
                if reply["type"] == "ack":
                    outstanding = {s for s in outstanding if s > reply["seq"]}
                else:
                    # Go back: resend from the refused seq (the hub holds later ones until then).
                    seq = min(seq, reply["seq"] - 1)
                    outstanding = {s for s in outstanding if s < reply["seq"]}
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.error = error
        finally:
            self.device.close()


def post_until_refused_while_full(hub, flood, post, accepted):
    """Sends `post(n)` for n = 1, 2, ... each time the ingest queue is full
    (the gauge shows it, so the request waits for room) until one is refused;
    `accepted(response, n)` says whether an answer was a success. Returns the
    refusal and its n."""
    n = 1
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        while (metric_value(scrape(hub), "telehub_ingest_queue_values") or 0) < F:
            assert time.monotonic() < deadline and flood.is_alive(), f"the queue never filled ({flood.error!r})"
        response = post(n)
        if not accepted(response, n):
            return response, n
        n += 1
    raise AssertionError("no request met a full queue (test precondition)")


def test_http_full_queue_is_503_with_retry_after(hub_factory):
    hub = hub_factory(*OVERLOAD_ARGS).start()
    t0 = now_ms() - 3_600_000
    flood = Flood(hub, hub.device_token("flood3"), t0)
    http_token = hub.device_token("poster")

    def acked(response, seq):
        if response.status_code != 200:
            return False
        assert response.json() == {"ack": seq}
        return True

    flood.start()
    try:
        refused, seq = post_until_refused_while_full(
            hub, flood, lambda seq: post_json(hub, "/v1/ingest", http_token, reading(seq, {"p": seq}, ts=t0 - seq)), acked)
        assert refused.status_code == 503, refused.text
        wait_ms = assert_retryable(refused.json(), "overloaded", seq)
        retry_after = refused.headers.get("Retry-After")
        assert retry_after is not None and retry_after.isdigit() and int(retry_after) * 1000 >= wait_ms
        assert ("p", t0 - seq) not in stored_readings(hub, "poster")
    finally:
        flood.stop.set()
        flood.join(timeout=30)
    assert flood.error is None, flood.error
    post_until_acked(hub, http_token, reading(seq, {"p": seq}, ts=t0 - seq))
    assert stored_readings(hub, "poster") == {("p", t0 - s): s for s in range(1, seq + 1)}


def test_a_write_through_the_influxdb_door_meets_a_full_queue_as_503_with_retry_after(hub_factory):
    """The door answers overload as ingest does, in InfluxDB's error shape,
    and stores nothing of the refused body."""
    hub = hub_factory(*OVERLOAD_ARGS).start()
    t0 = now_ms() - 3_600_000
    flood = Flood(hub, hub.device_token("flood4"), t0)
    token = hub.device_token("telegraf")

    def write(n):
        return httpx.post(f"{hub.url}/write", params={"precision": "ms"}, headers={"Authorization": f"Token {token}"},
                          content=f"door p={n} {t0 - n}\n", timeout=10)

    flood.start()
    try:
        refused, n = post_until_refused_while_full(hub, flood, write, lambda response, _: response.status_code == 204)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "unavailable" and refused.json()["message"], refused.text
        retry_after = refused.headers.get("Retry-After")
        assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1
    finally:
        flood.stop.set()
        flood.join(timeout=30)
    assert flood.error is None, flood.error
    assert ("door.p", t0 - n) not in stored_readings(hub, "telegraf")
    assert stored_readings(hub, "telegraf") == {("door.p", t0 - k): k for k in range(1, n)}


# ---------------------------------------------------------------------------
# permessage-deflate


def big_batch(seq, t0, n=500):
    readings = [{"ts": t0 + i, "metrics": {"temperature": 20 + (i % 7) / 4, "humidity": 40.5}} for i in range(n)]
    return batch(seq, readings)


def test_deflate_negotiated_when_offered(hub):
    token, t0 = hub.device_token("zip"), now_ms() - 100_000
    with open_device(hub, token) as device:  # python websockets offers deflate by default
        extensions = device.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in extensions, extensions
        message = big_batch(1, t0)
        device.expect_ack(message)
        device.expect_ack(reading(2, {"temperature": 1.5}, ts=t0 - 1))
    assert stored_readings(hub, "zip") == rows(message, reading(2, {"temperature": 1.5}, ts=t0 - 1))


def test_client_without_deflate_works(hub):
    token, t0 = hub.device_token("plain"), now_ms() - 100_000
    with open_device(hub, token, compression=None) as device:
        assert "Sec-WebSocket-Extensions" not in device.ws.response.headers
        message = big_batch(1, t0)
        device.expect_ack(message)
    assert stored_readings(hub, "plain") == rows(message)


def test_no_deflate_flag_declines_the_offer(hub_factory):
    hub = hub_factory("--no-deflate").start()
    token, t0 = hub.device_token("nodeflate"), now_ms() - 100_000
    with open_device(hub, token) as device:
        assert "permessage-deflate" not in device.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        message = big_batch(1, t0)
        device.expect_ack(message)
    assert stored_readings(hub, "nodeflate") == rows(message)


@pytest.mark.parametrize("bits", ["9", "15"])
def test_deflate_window_bits_flag(hub_factory, bits):
    hub = hub_factory("--deflate-window-bits", bits).start()
    token, t0 = hub.device_token("bits"), now_ms() - 100_000
    with open_device(hub, token) as device:
        extensions = device.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in extensions
        # 15 is the protocol default, which a server may leave unsaid.
        said = f"server_max_window_bits={bits}" in extensions
        assert said or (bits == "15" and "server_max_window_bits" not in extensions), extensions
        for seq in range(1, 4):
            device.expect_ack(big_batch(seq, t0 + seq * 1000, n=200))
    assert len(stored_readings(hub, "bits")) == 3 * 200 * 2
