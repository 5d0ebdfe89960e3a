"""The live stream, `GET /v1/stream` (Server-Sent Events), checked against CONTRACT.md."""
import json
import time

import httpx
import pytest

from conftest import bearer, event_stream, get_json, now_ms, open_device, reading


def data(event):
    return json.loads(event.data)


def test_stream_starts_with_snapshot_of_devices(hub):
    token, reader = hub.device_token("greenhouse-1"), hub.read_token()
    hub.device_token("idle")
    ts = now_ms() - 5000
    with open_device(hub, token) as device:
        device.expect_ack(reading(3, {"temperature": 21.6}, ts=ts))
        with event_stream(hub, reader) as stream:
            assert stream.response.status_code == 200
            assert stream.response.headers["content-type"].startswith("text/event-stream")
            first = stream.next()
            assert first.event == "snapshot"
            assert first.id.isdigit(), f"snapshot needs a numeric id, got {first.id!r}"
            snapshot = data(first)
            # Same shape and content as GET /v1/devices.
            # The devices as GET /v1/devices lists them, and (v1.1) the alerts as GET /v1/alerts does.
            assert snapshot.pop("alerts") == get_json(hub, "/v1/alerts", reader)["alerts"]
            assert snapshot == get_json(hub, "/v1/devices", reader)
            devices = {d["name"]: d for d in snapshot["devices"]}
            assert devices["greenhouse-1"]["metrics"] == {"temperature": {"ts": ts, "value": 21.6}}
            assert devices["greenhouse-1"]["online"] is True
            assert devices["greenhouse-1"]["lastSeq"] == 3
            assert devices["idle"]["metrics"] == {}


def test_stream_begins_with_retry_hint(hub):
    reader = hub.read_token()
    with httpx.stream("GET", f"{hub.url}/v1/stream", headers=bearer(reader), timeout=10) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines) == "retry: 2000"


def test_committed_readings_arrive_with_increasing_ids(hub):
    token, reader = hub.device_token("greenhouse-1"), hub.read_token()
    t0 = now_ms() - 10_000
    with event_stream(hub, reader) as stream:
        snapshot = stream.next()
        assert snapshot.event == "snapshot"
        last_id = int(snapshot.id)
        with open_device(hub, token) as device:
            device.expect_ack(reading(1, {"temperature": 21.6, "humidity": 40.5}, ts=t0))
            device.expect_ack({"type": "batch", "seq": 2, "readings": [
                {"ts": t0 + 1000, "metrics": {"temperature": 21.7}},
                {"ts": t0 + 2000, "metrics": {"temperature": 21.8, "on": True}},
            ]})
            expected = [
                {"device": "greenhouse-1", "ts": t0, "metrics": {"temperature": 21.6, "humidity": 40.5}},
                {"device": "greenhouse-1", "ts": t0 + 1000, "metrics": {"temperature": 21.7}},
                {"device": "greenhouse-1", "ts": t0 + 2000, "metrics": {"temperature": 21.8, "on": 1}},
            ]
            for want in expected:
                event = stream.next_of("reading")
                assert data(event) == want
                assert int(event.id) > last_id, f"ids must grow: {event.id} after {last_id}"
                last_id = int(event.id)


def test_device_filter(hub):
    reader = hub.read_token()
    tokens = {name: hub.device_token(name) for name in ("a", "b", "c")}
    t0 = now_ms() - 10_000
    with event_stream(hub, reader, params={"device": "a,c"}) as stream:
        assert stream.next().event == "snapshot"
        for seq, name in enumerate(["b", "a", "b", "c"], start=1):
            with open_device(hub, tokens[name]) as device:
                device.expect_ack(reading(seq, {"v": seq}, ts=t0 + seq))
        got = [data(stream.next_of("reading")) for _ in range(2)]
        assert got == [
            {"device": "a", "ts": t0 + 2, "metrics": {"v": 2}},
            {"device": "c", "ts": t0 + 4, "metrics": {"v": 4}},
        ]


def test_metric_filter(hub):
    token, reader = hub.device_token("d"), hub.read_token()
    t0 = now_ms() - 10_000
    with event_stream(hub, reader, params={"metric": "x,z"}) as stream:
        assert stream.next().event == "snapshot"
        with open_device(hub, token) as device:
            device.expect_ack(reading(1, {"y": 1}, ts=t0))
            device.expect_ack(reading(2, {"x": 2, "y": 3}, ts=t0 + 1))
            device.expect_ack(reading(3, {"y": 4}, ts=t0 + 2))
            device.expect_ack(reading(4, {"z": 5}, ts=t0 + 3))
        first, second = data(stream.next_of("reading")), data(stream.next_of("reading"))
        assert first["ts"] == t0 + 1 and first["metrics"].get("x") == 2
        assert "y" not in first["metrics"], f"metric=x,z must not deliver y: {first}"
        assert second == {"device": "d", "ts": t0 + 3, "metrics": {"z": 5}}


def test_device_and_metric_filters_combined(hub):
    reader = hub.read_token()
    ta, tb = hub.device_token("a"), hub.device_token("b")
    t0 = now_ms() - 10_000
    with event_stream(hub, reader, params={"device": "a", "metric": "x"}) as stream:
        assert stream.next().event == "snapshot"
        with open_device(hub, tb) as device:
            device.expect_ack(reading(1, {"x": 1}, ts=t0))
        with open_device(hub, ta) as device:
            device.expect_ack(reading(1, {"y": 2}, ts=t0 + 1))
            device.expect_ack(reading(2, {"x": 3}, ts=t0 + 2))
        assert data(stream.next_of("reading")) == {"device": "a", "ts": t0 + 2, "metrics": {"x": 3}}


def test_presence_events(hub):
    token, reader = hub.device_token("pres"), hub.read_token()
    with event_stream(hub, reader) as stream:
        assert stream.next().event == "snapshot"
        before = now_ms()
        device = open_device(hub, token)
        online = stream.next()
        assert online.event == "presence"
        body = data(online)
        assert body["device"] == "pres" and body["online"] is True
        assert before - 1000 <= body["ts"] <= now_ms() + 1000
        device.close()
        offline = stream.next()
        assert offline.event == "presence"
        body = data(offline)
        assert body["device"] == "pres" and body["online"] is False
        assert before - 1000 <= body["ts"] <= now_ms() + 1000


def test_presence_respects_device_filter(hub):
    reader = hub.read_token()
    other, mine = hub.device_token("other"), hub.device_token("mine")
    with event_stream(hub, reader, params={"device": "mine"}) as stream:
        assert stream.next().event == "snapshot"
        with open_device(hub, other):
            pass
        with open_device(hub, mine):
            pass
        event = stream.next()
        assert event.event == "presence" and data(event)["device"] == "mine" and data(event)["online"] is True


def _send(device, seq, ts, value):
    device.expect_ack(reading(seq, {"v": value}, ts=ts))
    return {"device": device.hello["device"], "ts": ts, "metrics": {"v": value}}


@pytest.mark.parametrize("via", ["header", "query"])
def test_resume_replays_exactly_the_missed_readings(hub, via):
    token, reader = hub.device_token("r"), hub.read_token()
    t0 = now_ms() - 60_000
    with open_device(hub, token) as device:
        with event_stream(hub, reader) as stream:
            assert stream.next().event == "snapshot"
            first = _send(device, 1, t0 + 1, 1)
            event = stream.next_of("reading")
            assert data(event) == first
            seen_id = event.id
        # Missed while disconnected:
        missed = [_send(device, seq, t0 + seq, seq * 10) for seq in range(2, 7)]
        kwargs = {"headers": {"Last-Event-ID": seen_id}} if via == "header" else {"params": {"lastEventId": seen_id}}
        with event_stream(hub, reader, **kwargs) as stream:
            replayed = []
            last_id = int(seen_id)
            while len(replayed) < len(missed):
                event = stream.next()
                assert event.event not in ("reset",), "resume within the window must not reset"
                if event.event != "reading":
                    continue
                assert int(event.id) > last_id
                last_id = int(event.id)
                replayed.append(data(event))
            assert replayed == missed
            # Then live events, with no duplicate of the replayed ones in between.
            live = _send(device, 7, t0 + 7, 70)
            event = stream.next_of("reading")
            assert data(event) == live
            assert int(event.id) > last_id


def test_resume_from_snapshot_id_misses_nothing(hub):
    token, reader = hub.device_token("s"), hub.read_token()
    t0 = now_ms() - 60_000
    with open_device(hub, token) as device:
        _send(device, 1, t0, 1)
        with event_stream(hub, reader) as stream:
            snapshot = stream.next()
            assert snapshot.event == "snapshot"
        after = [_send(device, 2, t0 + 2, 2), _send(device, 3, t0 + 3, 3)]
        with event_stream(hub, reader, headers={"Last-Event-ID": snapshot.id}) as stream:
            got = [data(stream.next_of("reading")) for _ in after]
            assert got == after
            live = _send(device, 4, t0 + 4, 4)
            assert data(stream.next_of("reading")) == live


def test_resume_with_current_id_replays_nothing(hub):
    token, reader = hub.device_token("c"), hub.read_token()
    t0 = now_ms() - 60_000
    with open_device(hub, token) as device:
        with event_stream(hub, reader) as stream:
            assert stream.next().event == "snapshot"
            _send(device, 1, t0, 1)
            seen = stream.next_of("reading").id
        with event_stream(hub, reader, headers={"Last-Event-ID": seen}) as stream:
            live = _send(device, 2, t0 + 2, 2)
            event = stream.next_of("reading", "reset", "snapshot")
            assert event.event == "reading" and data(event) == live


@pytest.mark.parametrize("via", ["header", "query"])
def test_id_older_than_window_gets_reset_then_snapshot(hub, via):
    token, reader = hub.device_token("old"), hub.read_token()
    t0 = now_ms() - 60_000
    with open_device(hub, token) as device:
        for seq in range(1, 4):
            _send(device, seq, t0 + seq, seq)
        kwargs = {"headers": {"Last-Event-ID": "1"}} if via == "header" else {"params": {"lastEventId": "1"}}
        with event_stream(hub, reader, **kwargs) as stream:
            reset = stream.next()
            assert reset.event == "reset"
            snapshot = stream.next()
            assert snapshot.event == "snapshot"
            assert snapshot.id.isdigit()
            body = data(snapshot)
            assert body.pop("alerts") == []
            assert body == get_json(hub, "/v1/devices", reader)
            assert body["devices"][0]["metrics"]["v"] == {"ts": t0 + 3, "value": 3}
            live = _send(device, 4, t0 + 4, 4)
            event = stream.next_of("reading")
            assert data(event) == live and int(event.id) > int(snapshot.id)


def test_keepalive_comment(hub_factory):
    hub = hub_factory(env={"TELEHUB_KEEPALIVE_SECONDS": "1"}).start()
    reader = hub.read_token()
    started = time.monotonic()
    with httpx.stream("GET", f"{hub.url}/v1/stream", headers=bearer(reader), timeout=httpx.Timeout(10, read=5)) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line == ": keepalive":
                break
            assert time.monotonic() - started < 5, "no keepalive within 5 s at a 1 s interval"
    assert time.monotonic() - started < 5


def test_stream_unauthorized(hub):
    device_token = hub.device_token("d")
    for headers in ({}, bearer("thr_nope"), bearer(device_token)):
        response = httpx.get(f"{hub.url}/v1/stream", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.json() == {"error": "unauthorized"}


def test_stream_ends_on_sigterm(hub):
    reader = hub.read_token()
    with event_stream(hub, reader) as stream:
        assert stream.next().event == "snapshot"
        started = time.monotonic()
        code = hub.stop(timeout=5)
        elapsed = time.monotonic() - started
        assert code == 0, f"hub exit status {code} with an open stream"
        assert elapsed < 5
        # The body ends cleanly (a complete chunked response), not a reset connection.
        rest = stream.rest()
        assert all(e.event in ("presence",) for e in rest), rest
