"""Desired and reported state (contract v1.2): versions, merge patches,
If-Match, bounds, delta; the desired object sent to the device after hello
and on every change; reports acknowledged after commit; the stream's
`event: state`."""
import json

import httpx

from conftest import bearer, event_stream, open_device, wait_for


def control_token(hub) -> str:
    return hub.cli("token", "create", "--control").stdout.strip()


def state(hub, token, device="gh-1"):
    response = httpx.get(f"{hub.url}/v1/devices/{device}/state", headers=bearer(token), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def change(hub, token, method, body, device="gh-1", if_match=None):
    headers = bearer(token)
    if if_match is not None:
        headers["If-Match"] = f'"{if_match}"'
    return httpx.request(method, f"{hub.url}/v1/devices/{device}/state/desired", headers=headers,
                         content=body if isinstance(body, str) else json.dumps(body), timeout=10)


def next_of(device, kind, timeout=5.0):
    while True:
        message = device.recv(timeout=timeout)
        if message.get("type") == kind:
            return message


def test_versions_patches_if_match_and_delta(hub):
    control, reader = control_token(hub), hub.read_token()
    hub.device_token("gh-1")
    empty = state(hub, reader)
    assert empty == {"desired": {"version": 0, "state": {}, "updatedAt": None},
                     "reported": {"version": 0, "state": {}, "updatedAt": None, "applied": None}, "delta": {}}
    put = change(hub, control, "PUT", {"interval": 5, "mode": {"eco": True, "level": 2}})
    assert put.status_code == 200 and put.headers["etag"] == '"1"'
    assert put.json()["version"] == 1 and put.json()["state"] == {"interval": 5, "mode": {"eco": True, "level": 2}}
    patched = change(hub, control, "PATCH", {"mode": {"level": None, "fan": "low"}}, if_match=1)
    assert patched.status_code == 200 and patched.json()["state"] == {"interval": 5, "mode": {"eco": True, "fan": "low"}}
    stale = change(hub, control, "PATCH", {"interval": 9}, if_match=1)
    assert stale.status_code == 412 and stale.json() == {"error": "version_mismatch", "version": 2}
    assert state(hub, reader)["desired"]["state"]["interval"] == 5  # the stale change did nothing
    assert state(hub, reader)["delta"] == {"interval": 5, "mode": {"eco": True, "fan": "low"}}


def test_bounds_and_who_may_change(hub):
    control, reader = control_token(hub), hub.read_token()
    hub.device_token("gh-1")
    deep = {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}}
    for body in [[1], deep, {"big": "x" * 17_000}, "{nope"]:
        response = change(hub, control, "PUT", body)
        assert response.status_code == 400 and response.json()["error"] == "invalid_state", (str(body)[:40], response.text)
    assert change(hub, control, "PATCH", [1]).status_code == 400
    assert change(hub, reader, "PUT", {"a": 1}).status_code == 403
    assert change(hub, hub.device_token("gh-2"), "PUT", {"a": 1}).status_code == 401
    assert change(hub, control, "PUT", {"a": 1}, device="nobody").status_code == 404
    assert httpx.get(f"{hub.url}/v1/devices/nobody/state", headers=bearer(reader), timeout=10).status_code == 404


def test_the_device_gets_desired_after_hello_and_on_change_and_its_reports_are_acked(hub):
    control, reader = control_token(hub), hub.read_token()
    token = hub.device_token("gh-1")
    with open_device(hub, token) as device:
        # Never had state: nothing is sent after hello.
        assert device.request({"type": "ping", "id": 1}) == {"type": "pong", "id": 1}
    assert change(hub, control, "PUT", {"interval": 5}).status_code == 200
    with event_stream(hub, reader) as stream, open_device(hub, token) as device:
        assert next_of(device, "desired") == {"type": "desired", "version": 1, "state": {"interval": 5}}
        assert change(hub, control, "PATCH", {"interval": 10}).status_code == 200
        assert next_of(device, "desired") == {"type": "desired", "version": 2, "state": {"interval": 10}}
        assert device.request({"type": "reported", "state": {"interval": 10, "fw": "1.2"}, "applied": 2, "seq": 1}) == {
            "type": "ack", "seq": 1}
        now = state(hub, reader)
        assert now["reported"]["version"] == 1 and now["reported"]["applied"] == 2
        assert now["reported"]["state"] == {"interval": 10, "fw": "1.2"} and now["delta"] == {}
        # A repeat is acknowledged again and not applied twice.
        assert device.request({"type": "reported", "state": {"fw": "9"}, "seq": 1}) == {"type": "ack", "seq": 1}
        assert state(hub, reader)["reported"]["version"] == 1
        events = [json.loads(stream.next_of("state").data) for _ in range(2)]
        assert events[0]["desired"]["version"] == 2 and events[1]["reported"] == {"version": 1, "applied": 2}
        assert all(e["device"] == "gh-1" for e in events)
        bad = device.request({"type": "reported", "state": [1], "seq": 2})
        assert bad["type"] == "error" and bad["message"].startswith("state")


def test_a_connected_device_gets_each_change_and_an_offline_one_only_the_current_object(hub):
    control = control_token(hub)
    token = hub.device_token("gh-1")
    with open_device(hub, token) as device:
        assert change(hub, control, "PUT", {"a": 1}).status_code == 200
        assert next_of(device, "desired")["version"] == 1
    # A device that was offline gets the current object when it connects, never a stale one.
    for value in range(2, 5):
        assert change(hub, control, "PUT", {"a": value}).status_code == 200
    with open_device(hub, token) as device:
        assert next_of(device, "desired") == {"type": "desired", "version": 4, "state": {"a": 4}}


def test_the_cli_gets_sets_and_patches_and_the_device_hears_within_two_seconds(hub):
    import time
    token = hub.device_token("gh-1")
    with open_device(hub, token) as device:
        started = time.monotonic()
        assert hub.cli("state", "set", "gh-1", '{"interval":5}').stdout.strip() == 'desired v1 {"interval":5}'
        assert next_of(device, "desired", timeout=2.5) == {"type": "desired", "version": 1, "state": {"interval": 5}}
        assert time.monotonic() - started < 2.5
        assert hub.cli("state", "patch", "gh-1", '{"mode":"eco"}', "--if-version", "1").returncode == 0
        assert next_of(device, "desired", timeout=2.5)["version"] == 2
    got = json.loads(hub.cli("state", "get", "gh-1", "--json").stdout)
    assert got["desired"]["state"] == {"interval": 5, "mode": "eco"} and got["delta"] == {"interval": 5, "mode": "eco"}
    for args, words in [(("state", "patch", "gh-1", '{"x":1}', "--if-version", "1"), "version 2"),
                        (("state", "set", "nobody", "{}"), "no device nobody"),
                        (("state", "set", "gh-1", "[1]"), "JSON object"),
                        (("state", "get", "nobody"), "no device")]:
        result = hub.cli(*args, check=False)
        assert result.returncode != 0 and words in result.stderr, (args, result.stderr)


def test_the_snapshot_carries_state_versions_and_the_device_list_keeps_its_shape(hub):
    control, reader = control_token(hub), hub.read_token()
    token = hub.device_token("gh-1")
    hub.device_token("gh-2")
    with event_stream(hub, reader) as stream:
        assert "states" not in json.loads(stream.next_of("snapshot").data)  # no device has state yet: v1.1's snapshot
    assert change(hub, control, "PUT", {"interval": 5}).status_code == 200
    with open_device(hub, token) as device:
        assert next_of(device, "desired")["version"] == 1
        assert device.request({"type": "reported", "state": {"interval": 5}, "applied": 1, "seq": 1})["type"] == "ack"
    with event_stream(hub, reader) as stream:
        snapshot = json.loads(stream.next_of("snapshot").data)
    # Only devices that ever had state are listed (the others' versions are 0), as event: state has them.
    assert snapshot["states"] == [{"device": "gh-1", "desired": {"version": 1}, "reported": {"version": 1, "applied": 1}}]
    listed = httpx.get(f"{hub.url}/v1/devices", headers=bearer(reader), timeout=10).json()
    assert set(listed) == {"devices"} and all("state" not in d for d in listed["devices"])
