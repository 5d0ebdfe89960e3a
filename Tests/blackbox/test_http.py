"""HTTP ingest, the read API and the HTTP edges, checked against CONTRACT.md."""
import json

import httpx
import pytest

from conftest import bearer, device_status, get_json, now_ms, open_device, reading, stored_readings, wait_for


def post_ingest(hub, token, body, **kwargs):
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return httpx.post(
        f"{hub.url}/v1/ingest", content=content, timeout=10,
        headers={**bearer(token), "Content-Type": "application/json"}, **kwargs,
    )


# ---------------------------------------------------------------------------
# POST /v1/ingest


def test_post_reading_acks_after_commit(hub):
    token, reader = hub.device_token("poster"), hub.read_token()
    ts = now_ms() - 2000
    response = post_ingest(hub, token, reading(7, {"temperature": 21.5, "on": True}, ts=ts))
    assert response.status_code == 200, response.text
    assert response.json() == {"ack": 7}
    # 200 comes after the commit: the value is readable at once.
    status = device_status(hub, "poster", reader)
    assert status["metrics"] == {"temperature": {"ts": ts, "value": 21.5}, "on": {"ts": ts, "value": 1}}
    assert status["lastSeq"] == 7


def test_post_batch_acks(hub):
    token = hub.device_token("poster")
    t0 = now_ms() - 5000
    body = {"type": "batch", "seq": 3, "readings": [{"ts": t0, "metrics": {"a": 1}}, {"ts": t0 + 1, "metrics": {"a": 2}}]}
    response = post_ingest(hub, token, body)
    assert response.status_code == 200 and response.json() == {"ack": 3}
    assert stored_readings(hub, "poster") == {("a", t0): 1, ("a", t0 + 1): 2}


def test_post_without_seq_acks_null_and_stores(hub):
    token, reader = hub.device_token("noseq"), hub.read_token()
    ts = now_ms() - 1000
    response = post_ingest(hub, token, {"type": "reading", "ts": ts, "metrics": {"x": 4.25}})
    assert response.status_code == 200, response.text
    assert response.json() == {"ack": None}
    assert response.text.replace(" ", "") == '{"ack":null}'
    assert device_status(hub, "noseq", reader)["metrics"]["x"] == {"ts": ts, "value": 4.25}


def test_post_with_query_token(hub):
    token = hub.device_token("q")
    ts = now_ms() - 1000
    response = httpx.post(f"{hub.url}/v1/ingest", params={"token": token}, content=json.dumps(reading(1, {"a": 1}, ts=ts)), timeout=10)
    assert response.status_code == 200 and response.json() == {"ack": 1}


def test_post_duplicate_seq_acked_not_stored(hub):
    token = hub.device_token("dup")
    ts = now_ms() - 1000
    assert post_ingest(hub, token, reading(5, {"a": 1.0}, ts=ts)).json() == {"ack": 5}
    response = post_ingest(hub, token, reading(5, {"a": 2.0}, ts=ts))
    assert response.status_code == 200 and response.json() == {"ack": 5}
    assert stored_readings(hub, "dup") == {("a", ts): 1.0}


def test_post_and_websocket_share_seq(hub):
    token = hub.device_token("mixed")
    assert post_ingest(hub, token, reading(9, {"a": 1}, ts=now_ms() - 1000)).json() == {"ack": 9}
    with open_device(hub, token) as device:
        assert device.hello["lastSeq"] == 9


@pytest.mark.parametrize(
    "body, code, seq, path",
    [
        ({"type": "reading", "seq": 4, "metrics": {"t": "warm"}}, "invalid_value", 4, "metrics.t"),
        ({"type": "reading", "seq": 4, "metrics": {"bad name": 1}}, "invalid_name", 4, "metrics.bad name"),
        ({"type": "reading", "seq": 4, "ts": 5, "metrics": {"t": 1}}, "invalid_timestamp", 4, "ts"),
        ({"type": "batch", "seq": 4, "readings": [{"metrics": {"t": 1}}, {"metrics": {"t": None}}]}, "invalid_value", 4,
         "readings[1].metrics.t"),
        ({"type": "nope", "seq": 4}, "invalid_message", 4, "type"),
        ({"type": "reading", "seq": 4, "metrics": {}}, "invalid_message", 4, "metrics"),
        ('{"type":"reading"', "invalid_json", None, None),
    ],
    ids=["value", "name", "timestamp", "batch-value", "type", "empty-metrics", "json"],
)
def test_post_invalid_message_400_with_error_object(hub, body, code, seq, path):
    token = hub.device_token("bad")
    response = post_ingest(hub, token, body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["type"] == "error"
    assert error["code"] == code
    assert error["retryable"] is False
    assert isinstance(error["message"], str) and error["message"]
    if seq is not None:
        assert error["seq"] == seq
    if path is not None:
        assert error["message"].startswith(path + ":"), error
    assert stored_readings(hub, "bad") == {}


def test_post_batch_too_large_400(hub_factory):
    hub = hub_factory("--max-batch", "2").start()
    token = hub.device_token("b")
    t0 = now_ms() - 1000
    body = {"type": "batch", "seq": 1, "readings": [{"ts": t0 + i, "metrics": {"a": i}} for i in range(3)]}
    response = post_ingest(hub, token, body)
    assert response.status_code == 400
    assert response.json()["code"] == "batch_too_large" and response.json()["seq"] == 1


@pytest.mark.parametrize("credential", ["missing", "garbage", "read", "revoked-looking"])
def test_post_unauthorized_401(hub, credential):
    hub.device_token("real")
    token = {"missing": None, "garbage": "xyz", "read": hub.read_token(), "revoked-looking": "thd_" + "B" * 43}[credential]
    response = post_ingest(hub, token, reading(1, {"a": 1}))
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}
    assert stored_readings(hub, "real") == {}


def test_post_oversized_body_413(hub_factory):
    hub = hub_factory("--max-message-bytes", "4096").start()
    token = hub.device_token("big")
    body = json.dumps({"type": "reading", "seq": 1, "metrics": {"a": 1}, "pad": "x" * 6000})
    response = post_ingest(hub, token, body)
    assert response.status_code == 413
    assert stored_readings(hub, "big") == {}
    # The hub still serves the next (small) request.
    ok = post_ingest(hub, token, reading(2, {"a": 2}, ts=now_ms() - 1000))
    assert ok.status_code == 200 and ok.json() == {"ack": 2}


# ---------------------------------------------------------------------------
# Read API


def test_devices_list_shape(hub):
    token, reader = hub.device_token("greenhouse-1"), hub.read_token()
    hub.device_token("idle")
    ts = now_ms() - 3000
    assert post_ingest(hub, token, reading(1236, {"temperature": 21.6, "humidity": 40}, ts=ts)).status_code == 200
    body = get_json(hub, "/v1/devices", reader)
    assert set(body) == {"devices"}
    devices = {d["name"]: d for d in body["devices"]}
    assert set(devices) == {"greenhouse-1", "idle"}
    gh = devices["greenhouse-1"]
    assert set(gh) == {"name", "online", "lastSeen", "lastSeq", "metrics"}
    assert isinstance(gh["online"], bool)  # HTTP-only devices: "online" is the hub's choice
    assert gh["lastSeq"] == 1236
    assert isinstance(gh["lastSeen"], int) and gh["lastSeen"] >= ts
    assert gh["metrics"] == {"temperature": {"ts": ts, "value": 21.6}, "humidity": {"ts": ts, "value": 40}}
    idle = devices["idle"]
    assert idle["lastSeq"] == 0 and idle["metrics"] == {} and idle["lastSeen"] is None and idle["online"] is False
    # GET /v1/devices/{name} returns one such object.
    assert get_json(hub, "/v1/devices/greenhouse-1", reader) == gh


def test_device_online_while_websocket_connected(hub):
    token, reader = hub.device_token("live"), hub.read_token()
    assert device_status(hub, "live", reader)["online"] is False
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"a": 1}))
        assert device_status(hub, "live", reader)["online"] is True
    wait_for(lambda: device_status(hub, "live", reader)["online"] is False, message="device offline after close")


def test_unknown_device_404(hub):
    reader = hub.read_token()
    response = httpx.get(f"{hub.url}/v1/devices/nobody", headers=bearer(reader), timeout=10)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found"}


@pytest.mark.parametrize("path", ["/v1/devices", "/v1/devices/d", "/v1/stream"])
@pytest.mark.parametrize("credential", ["missing", "garbage", "device", "bad-scheme"])
def test_read_api_unauthorized_401(hub, path, credential):
    device_token = hub.device_token("d")
    headers = {
        "missing": {},
        "garbage": bearer("thr_" + "C" * 43),
        "device": bearer(device_token),
        "bad-scheme": {"Authorization": f"Token {hub.read_token()}"},
    }[credential]
    response = httpx.get(f"{hub.url}{path}", headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized"}


def test_read_token_accepted(hub):
    reader = hub.read_token()
    assert get_json(hub, "/v1/devices", reader) == {"devices": []}
    # The per-process token printed by `serve` is a read token too.
    assert get_json(hub, "/v1/devices", hub.session_token) == {"devices": []}


def test_healthz_without_token(hub):
    response = httpx.get(f"{hub.url}/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# ---------------------------------------------------------------------------
# HTTP edges


@pytest.mark.parametrize("path", ["/v1/nothing", "/v1/devices/a/b/c/d", "/v1"])
def test_unknown_v1_route_404_json(hub, path):
    response = httpx.get(f"{hub.url}{path}", headers=bearer(hub.read_token()), timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("method, path", [("DELETE", "/v1/devices"), ("POST", "/v1/devices"), ("PUT", "/v1/devices/x"),
                                          ("DELETE", "/v1/ingest"), ("POST", "/v1/stream")])
def test_wrong_method_405_json(hub, method, path):
    response = httpx.request(method, f"{hub.url}{path}", headers=bearer(hub.read_token()), timeout=10)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "method_not_allowed"


def test_get_ingest_without_upgrade_426(hub):
    token = hub.device_token("d")
    response = httpx.get(f"{hub.url}/v1/ingest", headers=bearer(token), timeout=10)
    assert response.status_code == 426
    # And without a token it is simply unauthorized.
    refused = httpx.get(f"{hub.url}/v1/ingest", timeout=10)
    assert refused.status_code == 401 and refused.json() == {"error": "unauthorized"}
