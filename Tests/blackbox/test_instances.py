"""Several hubs on one PostgreSQL database (contract v1.1, "More than one hub
instance"): every hub's stream shows every hub's commits with the same ids,
presence, takeover and revocation reach across hubs, and a device may move
between them. Run with TELEHUB_BLACKBOX_STORE=postgres (scripts/test.sh does)."""
import json
import time

import pytest

from conftest import STORE, event_stream, get_json, open_device, reading, wait_for

pytestmark = pytest.mark.skipif(STORE != "postgres", reason="several hubs share a PostgreSQL database")


@pytest.fixture
def pair(hub_factory):
    first = hub_factory().start()
    second = hub_factory()
    second.db = first.db
    return first, second.start()


def reading_event(stream):
    event = stream.next_of("reading")
    return event.id, json.loads(event.data)


def test_a_reading_through_one_hub_reaches_every_hubs_stream_with_the_same_id(pair):
    a, b = pair
    token, reader = a.device_token("gh-1"), a.read_token()
    with event_stream(a, reader) as on_a, event_stream(b, reader) as on_b:
        on_a.next_of("snapshot")
        on_b.next_of("snapshot")
        with open_device(a, token) as device:
            sent = time.monotonic()
            device.expect_ack(reading(1, {"t": 21.5}, ts=1_732_200_000_123))
            id_b, data_b = reading_event(on_b)
            assert time.monotonic() - sent < 1.0, "the other hub's stream took over a second"
            id_a, data_a = reading_event(on_a)
    assert data_a == data_b == {"device": "gh-1", "ts": 1_732_200_000_123, "metrics": {"t": 21.5}}
    assert id_a == id_b and int(id_a) > 0


def test_last_event_id_resumes_on_another_hub(pair):
    a, b = pair
    token, reader = a.device_token("gh-1"), a.read_token()
    with event_stream(a, reader) as on_a:
        on_a.next_of("snapshot")
        with open_device(a, token) as device:
            device.expect_ack(reading(1, {"t": 1}))
            seen, _ = reading_event(on_a)
            device.expect_ack(reading(2, {"t": 2}))
            device.expect_ack(reading(3, {"t": 3}))
            last, _ = reading_event(on_a)
            last, _ = reading_event(on_a)
    # The dashboard reconnects through the load balancer and lands on the other hub.
    with event_stream(b, reader, headers={"Last-Event-ID": seen}) as on_b:
        first = on_b.next()
        assert first.event == "reading", f"expected the missed readings, got {first.event}"
        missed = [json.loads(first.data)["metrics"]["t"], json.loads(on_b.next_of("reading").data)["metrics"]["t"]]
        assert missed == [2, 3]
    with event_stream(b, reader, headers={"Last-Event-ID": "12345"}) as old:
        assert old.next().event == "reset"


def test_presence_follows_the_device_to_whichever_hub(pair):
    a, b = pair
    token, reader = a.device_token("gh-1"), a.read_token()

    def online(hub):
        return get_json(hub, "/v1/devices/gh-1", reader)["online"]

    with event_stream(b, reader) as on_b:
        on_b.next_of("snapshot")
        with open_device(a, token):
            presence = json.loads(on_b.next_of("presence").data)
            assert presence["device"] == "gh-1" and presence["online"] is True
            assert online(a) and online(b)
        presence = json.loads(on_b.next_of("presence").data)
        assert presence["online"] is False
    assert not online(a) and not online(b)


def test_a_newer_session_on_another_hub_replaces_the_older_within_2s(pair):
    a, b = pair
    token, reader = a.device_token("gh-1"), a.read_token()
    with open_device(a, token) as older:
        older.expect_ack(reading(1, {"t": 1}))
        with open_device(b, token) as newer:
            assert newer.hello["lastSeq"] == 1  # what the other hub committed
            started = time.monotonic()
            assert older.close_code(timeout=5) == 4000
            assert time.monotonic() - started < 2.0
            newer.expect_ack(reading(2, {"t": 2}))
            # Still online: the device moved, it did not leave.
            assert get_json(a, "/v1/devices/gh-1", reader)["online"] is True
            # And the older hub's session ending did not take it offline.
            time.sleep(0.3)
            assert get_json(b, "/v1/devices/gh-1", reader)["online"] is True
    assert [v for _, _, _, v in a.exported("gh-1")] == [1, 2]


def test_revocation_through_one_hub_closes_sessions_on_every_hub_within_2s(pair):
    a, b = pair
    token = a.device_token("gh-1", "--label", "doomed")
    reader = a.read_token()
    with open_device(b, token) as device, event_stream(b, reader) as stream:
        stream.next_of("snapshot")
        token_id = next(t["id"] for t in json.loads(a.cli("token", "list", "--json").stdout) if t["label"] == "doomed")
        started = time.monotonic()
        a.cli("token", "revoke", str(token_id))
        assert device.close_code(timeout=5) == 1008
        assert time.monotonic() - started < 2.0


def test_a_killed_hubs_devices_go_offline_and_resume_on_another(pair):
    a, b = pair
    token, reader = a.device_token("gh-1"), a.read_token()
    device = open_device(a, token)
    for seq in range(1, 6):
        device.expect_ack(reading(seq, {"t": seq}))
    a.kill9()
    wait_for(lambda: get_json(b, "/v1/devices/gh-1", reader)["online"] is False, timeout=10,
             message="the killed hub's device still online on the other hub")
    with open_device(b, token) as moved:
        assert moved.hello["lastSeq"] == 5
        moved.expect_ack(reading(6, {"t": 6}))
        assert get_json(b, "/v1/devices/gh-1", reader)["online"] is True
    assert [v for _, _, _, v in b.exported("gh-1")] == [1, 2, 3, 4, 5, 6]


def test_alerts_reach_every_hubs_stream_and_each_webhook_call_is_made_once(pair):
    from test_alerts import Receiver, create
    a, b = pair
    receiver = Receiver()
    try:
        token, reader = a.device_token("cold-room"), a.read_token()
        create(a, "--name", "warm", "--device", "cold-room", "--metric", "t", "--above", "8", "--webhook", receiver.url)
        create(a, "--name", "silent", "--device", "cold-room", "--offline", "2s", "--webhook", receiver.url)
        with event_stream(b, reader) as on_b:
            on_b.next_of("snapshot")
            with open_device(a, token) as device:
                device.expect_ack(reading(1, {"t": 9}))
                fired = json.loads(on_b.next_of("alert").data)
                assert (fired["name"], fired["state"]) == ("warm", "firing")
            # Silent now: one hub (the leader) notices, and says so on every stream.
            offline = json.loads(on_b.next_of("alert").data)
            assert (offline["name"], offline["state"]) == ("silent", "firing")
        wait_for(lambda: len(receiver.requests) >= 2, timeout=10, message="two webhook calls")
        time.sleep(2)  # time for a second hub to make a second call, if it would
        statuses = sorted((b["alert"]["name"], b["status"]) for b in receiver.bodies())
        assert statuses == [("silent", "firing"), ("warm", "firing")], statuses
        history = json.loads(b.cli("alert", "history", "--json").stdout)
        transitions = [e for e in history if e.get("kind") == "transition"]
        assert sorted((e["alert"], e["state"]) for e in transitions) == [(1, "firing"), (2, "firing")], transitions
    finally:
        receiver.close()


def next_of_type(device, kind, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        message = device.recv(timeout=max(0.1, deadline - time.monotonic()))
        if message.get("type") == kind:
            return message


def test_commands_and_desired_state_made_through_one_hub_reach_a_device_on_the_other_within_2s(pair):
    import httpx
    from conftest import bearer
    a, b = pair
    token, reader = a.device_token("gh-1"), a.read_token()
    control = a.cli("token", "create", "--control").stdout.strip()
    with event_stream(a, reader) as stream, open_device(b, token) as device:
        started = time.monotonic()
        sent = httpx.post(f"{a.url}/v1/devices/gh-1/commands", headers=bearer(control),
                          json={"name": "set-interval", "args": {"seconds": 5}}, timeout=10).json()
        assert next_of_type(device, "command")["id"] == sent["id"]
        assert time.monotonic() - started < 2.0
        started = time.monotonic()
        put = httpx.put(f"{a.url}/v1/devices/gh-1/state/desired", headers=bearer(control), json={"interval": 5}, timeout=10)
        assert put.status_code == 200
        assert next_of_type(device, "desired") == {"type": "desired", "version": 1, "state": {"interval": 5}}
        assert time.monotonic() - started < 2.0
        # The CLI reaches it too, through the shared database.
        started = time.monotonic()
        by_cli = json.loads(a.cli("command", "send", "gh-1", "reboot", "--json").stdout)
        assert next_of_type(device, "command")["id"] == by_cli["id"]
        assert time.monotonic() - started < 2.0
        assert device.request({"type": "command_result", "id": sent["id"], "status": "succeeded",
                               "result": {"interval": 5}, "seq": 1}) == {"type": "ack", "seq": 1}
        # Every hub's stream sees the statuses the other hub committed.
        statuses = []
        while "succeeded" not in statuses:
            event = json.loads(stream.next_of("command").data)
            if event["id"] == sent["id"]:
                statuses.append(event["status"])
        assert statuses == ["queued", "sent", "succeeded"] or statuses == ["queued", "sent", "delivered", "succeeded"]
    # Exactly one hub sent each command, once.
    for id_ in (sent["id"], by_cli["id"]):
        assert get_json(a, f"/v1/commands/{id_}", control)["attempts"] == 1


def test_with_the_device_on_neither_hub_a_command_waits_and_only_one_hub_sends_it(pair):
    import httpx
    from conftest import bearer
    a, b = pair
    token = a.device_token("gh-1")
    control = a.cli("token", "create", "--control").stdout.strip()
    ids = [httpx.post(f"{hub.url}/v1/devices/gh-1/commands", headers=bearer(control), json={"name": f"c{i}"},
                      timeout=10).json()["id"] for i, hub in enumerate((a, b, a, b))]
    with open_device(b, token) as device:
        got = [next_of_type(device, "command")["id"] for _ in ids]
        assert sorted(got) == sorted(ids)
        with pytest.raises(TimeoutError):
            next_of_type(device, "command", timeout=1.0)
    assert all(get_json(b, f"/v1/commands/{id_}", control)["attempts"] == 1 for id_ in ids)


def test_changes_made_by_the_cli_reach_every_hubs_stream(pair):
    a, b = pair
    a.device_token("gh-1")
    reader = a.read_token()
    with event_stream(a, reader) as on_a, event_stream(b, reader) as on_b:
        queued = json.loads(a.cli("command", "send", "gh-1", "calibrate", "--json").stdout)
        for stream in (on_a, on_b):
            event = json.loads(stream.next_of("command").data)
            assert (event["id"], event["status"]) == (queued["id"], "queued")
        a.cli("command", "cancel", queued["id"])
        a.cli("state", "set", "gh-1", '{"interval": 5}')
        for stream in (on_a, on_b):
            event = json.loads(stream.next_of("command").data)
            assert (event["id"], event["status"]) == (queued["id"], "canceled")
            state = json.loads(stream.next_of("state").data)
            assert state["device"] == "gh-1" and state["desired"]["version"] == 1
