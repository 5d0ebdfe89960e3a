"""Liveness of device connections: server heartbeat, presence events on
`/v1/stream`, and takeover of a device's session by a newer connection."""
import json
import time

import pytest

from conftest import (
    RawWebSocket,
    close_info,
    device_status,
    event_stream,
    now_ms,
    open_device,
    reading,
    stored_readings,
)

PRESENCE_FIELDS = {"device", "online", "ts"}


def presence(event):
    assert event.event == "presence", event
    body = json.loads(event.data)
    assert set(body) == PRESENCE_FIELDS, body
    assert isinstance(body["ts"], int)
    return body


def next_presence(stream, device):
    """The next presence event of `device` (others are skipped), with its arrival time."""
    while True:
        body = presence(stream.next_of("presence"))
        if body["device"] == device:
            return body, time.monotonic()


# ---------------------------------------------------------------------------
# Heartbeat


def test_unanswered_pings_drop_device_within_two_intervals(hub_factory):
    hub = hub_factory("--heartbeat-seconds", "1").start()
    dead_token, live_token, reader = hub.device_token("dead"), hub.device_token("alive"), hub.read_token()
    with event_stream(hub, reader, read_timeout=10) as stream:
        assert stream.next().event == "snapshot"
        live = open_device(hub, live_token)  # python websockets answers pings by itself
        assert live.hello["heartbeatSeconds"] == 1
        assert next_presence(stream, "alive")[0]["online"] is True
        with RawWebSocket(hub, dead_token) as raw:
            connected = time.monotonic()
            hello = raw.recv_json()
            assert hello["type"] == "hello" and hello["heartbeatSeconds"] == 1
            assert next_presence(stream, "dead")[0]["online"] is True
            assert device_status(hub, "dead", reader)["online"] is True
            # The server pings about once per interval; this client reads but never answers.
            opcode, _ = raw.recv_frame(timeout=2.5)
            assert opcode == 0x9, f"expected a ping within ~1 s, got opcode {opcode}"
            first_ping = time.monotonic() - connected
            assert 0.5 <= first_ping <= 2.0, f"first ping after {first_ping:.2f} s with heartbeatSeconds 1"
            body, at = next_presence(stream, "dead")
            dropped = at - connected
            assert body["online"] is False
            assert 1.0 <= dropped <= 3.5, f"unresponsive device dropped after {dropped:.2f} s, expected about 2 s"
            assert abs(body["ts"] - now_ms()) < 2000
            assert device_status(hub, "dead", reader)["online"] is False
            # Its socket really is gone: nothing but (optionally) a close frame remains.
            deadline = time.monotonic() + 3
            with pytest.raises((EOFError, ConnectionError)):
                while time.monotonic() < deadline:
                    opcode, _ = raw.recv_frame(timeout=max(0.01, deadline - time.monotonic()))
                    assert opcode in (0x8, 0x9), opcode
                    if opcode == 0x8:
                        raise EOFError
        # The device that answers pings is still connected after three intervals.
        time.sleep(max(0.0, connected + 3.5 - time.monotonic()))
        assert device_status(hub, "alive", reader)["online"] is True
        live.expect_ack(reading(1, {"v": 1}))
        live.close()
        assert next_presence(stream, "alive")[0]["online"] is False


# ---------------------------------------------------------------------------
# Presence


def test_presence_events_within_one_second(hub):
    token, reader = hub.device_token("p1"), hub.read_token()
    with event_stream(hub, reader) as stream:
        assert stream.next().event == "snapshot"
        assert device_status(hub, "p1", reader)["online"] is False
        started, started_ms = time.monotonic(), now_ms()
        device = open_device(hub, token)
        body, at = next_presence(stream, "p1")
        assert body["online"] is True
        assert at - started < 1.0, f"online presence after {at - started:.2f} s"
        assert started_ms - 50 <= body["ts"] <= now_ms()
        assert device_status(hub, "p1", reader)["online"] is True

        device.expect_ack(reading(1, {"v": 1}))
        closed, closed_ms = time.monotonic(), now_ms()
        device.close()
        body, at = next_presence(stream, "p1")
        assert body["online"] is False
        assert at - closed < 1.0, f"offline presence after {at - closed:.2f} s"
        assert closed_ms - 50 <= body["ts"] <= now_ms()
        assert device_status(hub, "p1", reader)["online"] is False


def test_abrupt_disconnect_goes_offline_within_one_second(hub):
    """A device whose TCP connection just ends (no close frame) is offline at once,
    not only after the heartbeat gives up (20 s by default)."""
    token, reader = hub.device_token("p2"), hub.read_token()
    with event_stream(hub, reader) as stream:
        assert stream.next().event == "snapshot"
        raw = RawWebSocket(hub, token)
        assert raw.recv_json()["type"] == "hello"
        assert next_presence(stream, "p2")[0]["online"] is True
        dropped = time.monotonic()
        raw.close()
        body, at = next_presence(stream, "p2")
        assert body["online"] is False
        assert at - dropped < 1.0, f"offline presence after {at - dropped:.2f} s"
        assert device_status(hub, "p2", reader)["online"] is False


# ---------------------------------------------------------------------------
# Takeover


@pytest.mark.parametrize("second", ["same_token", "other_token_same_device"])
def test_newer_connection_replaces_older_with_4000(hub, second):
    token, reader = hub.device_token("tk"), hub.read_token()
    newer_token = token if second == "same_token" else hub.device_token("tk")
    t0 = now_ms() - 60_000
    with event_stream(hub, reader) as stream:
        assert stream.next().event == "snapshot"
        old = open_device(hub, token)
        assert next_presence(stream, "tk")[0]["online"] is True
        for seq in (1, 2, 3):
            old.expect_ack(reading(seq, {"v": seq}, ts=t0 + seq))

        new = open_device(hub, newer_token)
        assert new.hello["lastSeq"] == 3
        code, reason = close_info(old)
        assert code == 4000, (code, reason)
        assert "replaced" in reason.lower(), reason
        # The newer connection keeps working; the device never looked offline.
        new.expect_ack(reading(4, {"v": 4}, ts=t0 + 4))
        assert device_status(hub, "tk", reader)["online"] is True
        closed_ms = now_ms()
        new.close()
        while True:
            body, _ = next_presence(stream, "tk")
            if body["online"] is False:
                break
        assert body["ts"] >= closed_ms - 50, "an offline presence event was sent during the takeover"
        assert device_status(hub, "tk", reader)["online"] is False
    assert stored_readings(hub, "tk") == {("v", t0 + s): s for s in (1, 2, 3, 4)}


def test_takeover_keeps_acked_pipelined_data_of_the_old_connection(hub):
    token = hub.device_token("tk2")
    t0 = now_ms() - 60_000
    old = open_device(hub, token)
    for seq in range(1, 21):
        old.send(reading(seq, {"v": seq}, ts=t0 + seq))
    acked = 0
    while acked < 20:
        reply = old.recv()
        assert reply["type"] == "ack", reply
        acked = reply["seq"]
    with open_device(hub, token) as new:
        assert close_info(old)[0] == 4000
        assert new.hello["lastSeq"] == 20
        new.expect_ack(reading(21, {"v": 21}, ts=t0 + 21))
        # A third connection replaces the second in turn.
        with open_device(hub, token) as third:
            assert close_info(new)[0] == 4000
            assert third.hello["lastSeq"] == 21
            third.expect_ack(reading(22, {"v": 22}, ts=t0 + 22))
    assert stored_readings(hub, "tk2") == {("v", t0 + s): s for s in range(1, 23)}
