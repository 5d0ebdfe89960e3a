"""Device ingest over WebSocket, `GET /v1/ingest`, checked against CONTRACT.md."""
import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conftest import (
    batch,
    device_status,
    now_ms,
    open_device,
    reading,
    refused_upgrade,
    stored_readings,
)

Y2000 = 946_684_800_000  # 2000-01-01T00:00:00Z in ms
MINUTE_MS = 60_000


# ---------------------------------------------------------------------------
# Authentication and hello


@pytest.mark.parametrize("via", ["header", "query"])
def test_device_token_opens_session_and_hello_comes_first(hub, via):
    token = hub.device_token("greenhouse-1")
    with open_device(hub, token, via=via) as device:
        hello = device.hello
        assert hello["type"] == "hello"
        assert hello["device"] == "greenhouse-1"
        assert hello["lastSeq"] == 0
        assert set(hello) >= {"type", "device", "lastSeq", "maxBatch", "maxMessageBytes", "heartbeatSeconds"}
        assert hello["maxBatch"] == 1000
        assert hello["maxMessageBytes"] == 1_048_576
        assert hello["heartbeatSeconds"] == 20
        device.expect_ack(reading(1, {"temperature": 21.5}))


def test_hello_reports_configured_limits(hub_factory):
    hub = hub_factory("--max-message-bytes", "4096", "--max-batch", "7", "--heartbeat-seconds", "9").start()
    with open_device(hub, hub.device_token("d")) as device:
        assert device.hello["maxMessageBytes"] == 4096
        assert device.hello["maxBatch"] == 7
        assert device.hello["heartbeatSeconds"] == 9


@pytest.mark.parametrize(
    "credential",
    ["missing", "garbage", "unknown_device_token", "read_token", "read_token_query", "wrong_scheme"],
)
def test_bad_credentials_refused_with_401_before_upgrade(hub, credential):
    hub.device_token("real")  # a live device token exists, so refusals are not just "empty database"
    if credential == "missing":
        response = refused_upgrade(hub, None)
    elif credential == "garbage":
        response = refused_upgrade(hub, "not-a-token")
    elif credential == "unknown_device_token":
        response = refused_upgrade(hub, "thd_" + "A" * 43)
    elif credential == "read_token":
        response = refused_upgrade(hub, hub.read_token())
    elif credential == "read_token_query":
        response = refused_upgrade(hub, hub.read_token(), via="query")
    else:
        token = hub.device_token("real")
        with pytest.raises(InvalidStatus) as refused:
            with connect(hub.ws_url, additional_headers={"Authorization": f"Basic {token}"}, open_timeout=10):
                pass
        response = refused.value.response
    assert response.status_code == 401
    assert json.loads(bytes(response.body)) == {"error": "unauthorized"}


@pytest.mark.parametrize("path", ["/v1/ingest/extra", "/v1/elsewhere", "/telehub/v1/ingest"])
def test_an_upgrade_anywhere_else_is_404_with_a_json_body(hub, path):
    """Only /v1/ingest upgrades; a device pointed at the wrong path learns so (it was a bare 400)."""
    token = hub.device_token("lost")
    with pytest.raises(InvalidStatus) as refused:
        with connect(f"ws://127.0.0.1:{hub.port}{path}", additional_headers={"Authorization": f"Bearer {token}"},
                     open_timeout=10):
            pass
    response = refused.value.response
    assert response.status_code == 404
    assert json.loads(bytes(response.body)) == {"error": "not_found"}


# ---------------------------------------------------------------------------
# Acks, storage, duplicates


def test_reading_and_batch_acked_after_commit_and_visible(hub):
    token, reader = hub.device_token("d1"), hub.read_token()
    t0 = now_ms() - 10_000
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"temperature": 21.5, "humidity": 40.25}, ts=t0))
        # Acked means committed: visible to readers right away, no waiting.
        status = device_status(hub, "d1", reader)
        assert status["metrics"]["temperature"] == {"ts": t0, "value": 21.5}
        assert status["metrics"]["humidity"] == {"ts": t0, "value": 40.25}
        assert status["lastSeq"] == 1

        device.expect_ack(
            batch(5, [{"ts": t0 + 1000, "metrics": {"temperature": 21.6}}, {"ts": t0 + 2000, "metrics": {"temperature": 21.7}}])
        )
        status = device_status(hub, "d1", reader)
        assert status["metrics"]["temperature"] == {"ts": t0 + 2000, "value": 21.7}
        assert status["lastSeq"] == 5
        assert stored_readings(hub, "d1") == {
            ("temperature", t0): 21.5,
            ("humidity", t0): 40.25,
            ("temperature", t0 + 1000): 21.6,
            ("temperature", t0 + 2000): 21.7,
        }


def test_acks_are_cumulative_for_pipelined_messages(hub):
    token = hub.device_token("pipe")
    t0 = now_ms() - 60_000
    with open_device(hub, token) as device:
        seqs = list(range(1, 41))
        for seq in seqs:
            device.send(reading(seq, {"v": seq}, ts=t0 + seq))
        highest = 0
        while highest < seqs[-1]:
            ack = device.recv()
            assert ack["type"] == "ack", ack
            assert ack["seq"] > highest, f"ack went backwards: {ack['seq']} after {highest}"
            assert ack["seq"] in seqs
            highest = ack["seq"]
    stored = stored_readings(hub, "pipe")
    assert stored == {("v", t0 + seq): seq for seq in seqs}


def test_reading_without_ts_uses_receive_time(hub):
    token, reader = hub.device_token("nots"), hub.read_token()
    with open_device(hub, token) as device:
        before = now_ms()
        device.expect_ack(reading(1, {"x": 3}))
        after = now_ms()
    ts = device_status(hub, "nots", reader)["metrics"]["x"]["ts"]
    assert before - 1000 <= ts <= after + 1000


def test_duplicate_seq_is_acked_again_and_not_stored(hub):
    token, reader = hub.device_token("dup"), hub.read_token()
    t0 = now_ms() - 5000
    with open_device(hub, token) as device:
        device.expect_ack(reading(3, {"a": 1.0}, ts=t0))
        device.expect_ack(reading(5, {"a": 2.0}, ts=t0 + 1))
        # Same seq as the stored lastSeq, different values: acked, not stored.
        device.expect_ack(reading(5, {"a": 99.0, "b": 7.0}, ts=t0 + 1))
        # Below lastSeq, new ts: acked (cumulatively), not stored.
        reply = device.request(reading(4, {"a": 55.0}, ts=t0 + 2))
        assert reply["type"] == "ack" and 4 <= reply["seq"] <= 5, reply
        reply = device.request(batch(2, [{"ts": t0 + 3, "metrics": {"c": 1}}]))
        assert reply["type"] == "ack" and 2 <= reply["seq"] <= 5, reply
        device.expect_ack(reading(6, {"a": 3.0}, ts=t0 + 10))
    status = device_status(hub, "dup", reader)
    assert status["lastSeq"] == 6
    assert set(status["metrics"]) == {"a"}
    assert stored_readings(hub, "dup") == {("a", t0): 1.0, ("a", t0 + 1): 2.0, ("a", t0 + 10): 3.0}


def test_duplicate_detected_across_connections(hub):
    token = hub.device_token("dup2")
    t0 = now_ms() - 5000
    with open_device(hub, token) as device:
        device.expect_ack(reading(10, {"a": 1.0}, ts=t0))
    with open_device(hub, token) as device:
        assert device.hello["lastSeq"] == 10
        reply = device.request(reading(10, {"a": 2.0}, ts=t0 + 1))
        assert reply == {"type": "ack", "seq": 10}
    assert stored_readings(hub, "dup2") == {("a", t0): 1.0}


def test_last_write_wins_for_same_device_metric_ts(hub):
    token, reader = hub.device_token("lww"), hub.read_token()
    ts = now_ms() - 1000
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"t": 1.0}, ts=ts))
        device.expect_ack(reading(2, {"t": 2.0}, ts=ts))
        device.expect_ack(batch(3, [{"ts": ts, "metrics": {"t": 3.0}}]))
    assert device_status(hub, "lww", reader)["metrics"]["t"] == {"ts": ts, "value": 3.0}
    assert stored_readings(hub, "lww") == {("t", ts): 3.0}


def test_reconnect_hello_has_highest_stored_seq(hub):
    token = hub.device_token("re")
    t0 = now_ms() - 5000
    with open_device(hub, token) as device:
        assert device.hello["lastSeq"] == 0
        device.expect_ack(reading(1, {"a": 1}, ts=t0))
        device.expect_ack(reading(7, {"a": 2}, ts=t0 + 1))  # gaps are allowed
        device.expect_ack(batch(42, [{"ts": t0 + 2, "metrics": {"a": 3}}]))
        # A rejected message is never stored, so its seq is not "stored".
        error = device.request(reading(50, {"a": "bad"}, ts=t0 + 3))
        assert error["type"] == "error" and error["seq"] == 50
    with open_device(hub, token) as device:
        assert device.hello["lastSeq"] == 42
        device.expect_ack(reading(43, {"a": 4}, ts=t0 + 4))
    with open_device(hub, token, via="query") as device:
        assert device.hello["lastSeq"] == 43


def test_booleans_stored_as_one_and_zero(hub):
    token, reader = hub.device_token("bools"), hub.read_token()
    ts = now_ms() - 1000
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"door_open": True, "alarm": False, "n": -2.5}, ts=ts))
    metrics = device_status(hub, "bools", reader)["metrics"]
    assert metrics["door_open"] == {"ts": ts, "value": 1}
    assert metrics["alarm"] == {"ts": ts, "value": 0}
    assert metrics["n"] == {"ts": ts, "value": -2.5}


def test_ping_gets_pong_with_same_id(hub):
    token = hub.device_token("pinger")
    with open_device(hub, token) as device:
        assert device.request({"type": "ping", "id": "any"}) == {"type": "pong", "id": "any"}
        assert device.request({"type": "ping", "id": "x-17"}) == {"type": "pong", "id": "x-17"}
        device.expect_ack(reading(1, {"a": 1}))


# ---------------------------------------------------------------------------
# Errors: code, seq and path; the connection stays open


def _bad_cases():
    now = now_ms()
    ok = {"temperature": 20.0}
    cases = [
        # (id, raw message or dict, code, seq in reply or None, path expected in message or None)
        ("json-truncated", '{"type":"reading","seq":1,', "invalid_json", None, None),
        ("json-garbage", "hello", "invalid_json", None, None),
        ("not-an-object", "[1,2,3]", "invalid_message", None, None),
        ("missing-type", {"seq": "SEQ", "metrics": ok}, "invalid_message", "SEQ", "type"),
        ("unknown-type", {"type": "bogus", "seq": "SEQ", "metrics": ok}, "invalid_message", "SEQ", "type"),
        ("missing-seq", {"type": "reading", "metrics": ok}, "invalid_message", None, "seq"),
        ("seq-zero", {"type": "reading", "seq": 0, "metrics": ok}, "invalid_message", None, "seq"),
        ("seq-negative", {"type": "reading", "seq": -4, "metrics": ok}, "invalid_message", None, "seq"),
        ("seq-string", {"type": "reading", "seq": "12", "metrics": ok}, "invalid_message", None, "seq"),
        ("seq-fraction", {"type": "reading", "seq": 2.5, "metrics": ok}, "invalid_message", None, "seq"),
        ("metrics-array", {"type": "reading", "seq": "SEQ", "metrics": [1, 2]}, "invalid_message", "SEQ", "metrics"),
        ("metrics-missing", {"type": "reading", "seq": "SEQ"}, "invalid_message", "SEQ", "metrics"),
        ("metrics-empty", {"type": "reading", "seq": "SEQ", "metrics": {}}, "invalid_message", "SEQ", "metrics"),
        ("readings-object", {"type": "batch", "seq": "SEQ", "readings": {"ts": now}}, "invalid_message", "SEQ", "readings"),
        ("readings-missing", {"type": "batch", "seq": "SEQ"}, "invalid_message", "SEQ", "readings"),
        ("readings-empty", {"type": "batch", "seq": "SEQ", "readings": []}, "invalid_message", "SEQ", "readings"),
        (
            "batch-metrics-empty",
            {"type": "batch", "seq": "SEQ", "readings": [{"metrics": ok}, {"metrics": {}}]},
            "invalid_message", "SEQ", "readings[1].metrics",
        ),
        ("name-space", {"type": "reading", "seq": "SEQ", "metrics": {"bad name": 1}}, "invalid_name", "SEQ", "metrics.bad name"),
        ("name-digit", {"type": "reading", "seq": "SEQ", "metrics": {"1abc": 1}}, "invalid_name", "SEQ", "metrics.1abc"),
        ("name-too-long", {"type": "reading", "seq": "SEQ", "metrics": {"a" * 65: 1}}, "invalid_name", "SEQ", "metrics." + "a" * 65),
        (
            "batch-name",
            {"type": "batch", "seq": "SEQ", "readings": [{"metrics": ok}, {"metrics": {"ok": 1, "te mp": 2}}]},
            "invalid_name", "SEQ", "readings[1].metrics.te mp",
        ),
        ("value-string", {"type": "reading", "seq": "SEQ", "metrics": {"temperature": "21.5"}}, "invalid_value", "SEQ", "metrics.temperature"),
        ("value-null", {"type": "reading", "seq": "SEQ", "metrics": {"temperature": None}}, "invalid_value", "SEQ", "metrics.temperature"),
        ("value-object", {"type": "reading", "seq": "SEQ", "metrics": {"temperature": {"v": 1}}}, "invalid_value", "SEQ", "metrics.temperature"),
        ("value-array", {"type": "reading", "seq": "SEQ", "metrics": {"temperature": [1]}}, "invalid_value", "SEQ", "metrics.temperature"),
        (
            "batch-value",
            {"type": "batch", "seq": "SEQ", "readings": [{"metrics": ok}, {"metrics": ok}, {"metrics": ok}, {"metrics": {"temperature": "hot"}}]},
            "invalid_value", "SEQ", "readings[3].metrics.temperature",
        ),
        ("ts-before-2000", {"type": "reading", "seq": "SEQ", "ts": Y2000 - 1, "metrics": ok}, "invalid_timestamp", "SEQ", "ts"),
        ("ts-zero", {"type": "reading", "seq": "SEQ", "ts": 0, "metrics": ok}, "invalid_timestamp", "SEQ", "ts"),
        ("ts-future", {"type": "reading", "seq": "SEQ", "ts": now + 60 * MINUTE_MS, "metrics": ok}, "invalid_timestamp", "SEQ", "ts"),
        ("ts-fraction", {"type": "reading", "seq": "SEQ", "ts": now - 1000 + 0.5, "metrics": ok}, "invalid_timestamp", "SEQ", "ts"),
        ("ts-string", {"type": "reading", "seq": "SEQ", "ts": str(now), "metrics": ok}, "invalid_timestamp", "SEQ", "ts"),
        (
            "batch-ts",
            {"type": "batch", "seq": "SEQ", "readings": [{"ts": now - 1000, "metrics": ok}, {"ts": Y2000 - 5, "metrics": ok}]},
            "invalid_timestamp", "SEQ", "readings[1].ts",
        ),
    ]
    return cases


BAD_CASES = _bad_cases()


def _fill_seq(message, seq):
    if isinstance(message, str):
        return message
    return json.dumps({k: (seq if v == "SEQ" else v) for k, v in message.items()})


@pytest.mark.parametrize("case", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_error_code_seq_and_path_then_connection_stays_open(hub, case):
    _, message, code, seq_mark, path = case
    token, reader = hub.device_token("errs"), hub.read_token()
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"baseline": 1.0}, ts=now_ms() - 1000))
        bad_seq = 11
        reply = device.request(_fill_seq(message, bad_seq))
        assert reply["type"] == "error", reply
        assert reply["code"] == code, reply
        assert reply["retryable"] is False, reply
        assert isinstance(reply["message"], str) and reply["message"], reply
        if seq_mark is not None:
            assert reply["seq"] == bad_seq, reply
        if path is not None:
            assert reply["message"].startswith(path + ":"), f"message should name the path {path!r}: {reply}"
        # The connection is still open and usable.
        assert device.request({"type": "ping", "id": "after"}) == {"type": "pong", "id": "after"}
        device.expect_ack(reading(12, {"baseline": 2.0}, ts=now_ms() - 500))
    # Nothing of the rejected message was stored; the device's lastSeq is the good one.
    status = device_status(hub, "errs", reader)
    assert set(status["metrics"]) == {"baseline"}
    assert status["lastSeq"] == 12
    assert set(m for m, _ in stored_readings(hub, "errs")) == {"baseline"}


def test_ts_limits_accept_boundaries(hub):
    token = hub.device_token("bounds")
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"a": 1}, ts=Y2000))
        device.expect_ack(reading(2, {"a": 2}, ts=now_ms() + 9 * MINUTE_MS))
        device.expect_ack(reading(3, {"a": 3}, ts=now_ms() - 1000.0))  # integral float is an integer
    assert len(stored_readings(hub, "bounds")) == 3


def test_one_bad_reading_rejects_whole_batch(hub):
    token, reader = hub.device_token("whole"), hub.read_token()
    t0 = now_ms() - 10_000
    with open_device(hub, token) as device:
        reply = device.request(
            batch(1, [{"ts": t0, "metrics": {"good": 1}}, {"ts": t0 + 1, "metrics": {"good": 2}},
                      {"ts": t0 + 2, "metrics": {"good": None}}])
        )
        assert reply["type"] == "error" and reply["code"] == "invalid_value" and reply["seq"] == 1
        assert reply["message"].startswith("readings[2].metrics.good:")
        device.expect_ack(reading(2, {"other": 1}, ts=t0 + 3))
    assert "good" not in device_status(hub, "whole", reader)["metrics"]
    assert stored_readings(hub, "whole") == {("other", t0 + 3): 1}


def test_batch_too_large(hub):
    token = hub.device_token("big")
    t0 = now_ms() - 3_600_000
    with open_device(hub, token) as device:
        limit = device.hello["maxBatch"]
        items = [{"ts": t0 + i, "metrics": {"v": i}} for i in range(limit + 1)]
        reply = device.request(batch(1, items))
        assert reply["type"] == "error", reply
        assert reply["code"] == "batch_too_large" and reply["seq"] == 1 and reply["retryable"] is False, reply
        assert reply["message"].startswith("readings")
        # Exactly maxBatch readings is fine, and the connection is still open.
        device.expect_ack(batch(2, items[:limit]))
    stored = stored_readings(hub, "big")
    assert len(stored) == limit
    assert ("v", t0 + limit) not in stored


def test_batch_too_large_with_configured_max_batch(hub_factory):
    hub = hub_factory("--max-batch", "3").start()
    with open_device(hub, hub.device_token("small")) as device:
        assert device.hello["maxBatch"] == 3
        t0 = now_ms() - 10_000
        items = [{"ts": t0 + i, "metrics": {"v": i}} for i in range(4)]
        reply = device.request(batch(1, items))
        assert reply["code"] == "batch_too_large" and reply["seq"] == 1
        device.expect_ack(batch(2, items[:3]))


# ---------------------------------------------------------------------------
# Close codes


def test_binary_frame_closes_with_1003(hub):
    token = hub.device_token("bin")
    device = open_device(hub, token)
    device.expect_ack(reading(1, {"a": 1}))
    device.send(b'{"type":"reading","seq":2,"metrics":{"a":2}}')
    assert device.close_code() == 1003
    assert device_status(hub, "bin", hub.read_token())["lastSeq"] == 1


def test_message_over_max_message_bytes_closes_with_1009(hub_factory):
    hub = hub_factory("--max-message-bytes", "4096").start()
    token = hub.device_token("huge")
    device = open_device(hub, token)
    assert device.hello["maxMessageBytes"] == 4096
    # A message just under the limit is accepted (many metrics with long names).
    metrics = {f"m{i:02d}_" + "x" * 58: i for i in range(55)}
    small = json.dumps(reading(1, metrics, ts=now_ms() - 1000))
    assert 3800 < len(small) < 4096
    reply = device.request(small)
    assert reply == {"type": "ack", "seq": 1}
    big = json.dumps({"type": "reading", "seq": 2, "ts": now_ms() - 1000, "metrics": {"a": 2}, "pad": "x" * 5000})
    device.send(big)
    assert device.close_code() == 1009
    assert device_status(hub, "huge", hub.read_token())["lastSeq"] == 1
