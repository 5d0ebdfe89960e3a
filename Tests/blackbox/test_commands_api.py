"""The commands API (contract v1.2, "Commands: hub → device"), from outside:
who may send, list, read and cancel; bounds; the per-device limit; expiry by
the hub whether or not anybody looks; the stream's `event: command`; what a
restart keeps."""
import json
import time

import httpx
import pytest

from conftest import bearer, event_stream, metric_value, scrape, wait_for

COOKIE = "telehub_session"
FIELDS = {"id", "device", "name", "args", "status", "priority", "createdAt", "expiresAt", "attempts",
          "deliveredAt", "completedAt", "result", "message"}


def control_token(hub) -> str:
    return hub.cli("token", "create", "--control").stdout.strip()


def send(hub, device, token, body, params=None, headers=None, **kwargs):
    return httpx.post(f"{hub.url}/v1/devices/{device}/commands", headers={**bearer(token), **(headers or {})},
                      params=params, timeout=70, content=body if isinstance(body, (str, bytes)) else json.dumps(body),
                      **kwargs)


def test_a_command_is_accepted_stored_and_readable(hub):
    control, reader = control_token(hub), hub.read_token()
    hub.device_token("gh-1")
    response = send(hub, "gh-1", control, {"name": "set-interval", "args": {"seconds": 5}, "ttl": 3_600_000, "priority": 7})
    assert response.status_code == 202, response.text
    command = response.json()
    assert set(command) == FIELDS
    assert command["id"].startswith("cmd_") and command["device"] == "gh-1" and command["status"] == "queued"
    assert (command["args"], command["priority"], command["attempts"]) == ({"seconds": 5}, 7, 0)
    assert command["expiresAt"] - command["createdAt"] == 3_600_000
    assert (command["deliveredAt"], command["completedAt"], command["result"], command["message"]) == (None, None, None, None)
    one = httpx.get(f"{hub.url}/v1/commands/{command['id']}", headers=bearer(reader), timeout=10)
    assert one.status_code == 200 and one.json() == command
    listed = httpx.get(f"{hub.url}/v1/devices/gh-1/commands", headers=bearer(reader), timeout=10).json()
    assert listed == {"commands": [command]}
    # Defaults.
    plain = send(hub, "gh-1", control, {"name": "reboot"}).json()
    assert (plain["args"], plain["priority"], plain["expiresAt"] - plain["createdAt"]) == ({}, 5, 86_400_000)


def test_who_may_send_read_and_cancel(hub):
    control, reader, device = control_token(hub), hub.read_token(), hub.device_token("gh-1")
    assert send(hub, "gh-1", reader, {"name": "reboot"}).status_code == 403
    assert send(hub, "gh-1", reader, {"name": "reboot"}).json()["error"] == "forbidden"
    assert send(hub, "gh-1", device, {"name": "reboot"}).status_code == 401
    assert send(hub, "gh-1", None, {"name": "reboot"}).status_code == 401
    command = send(hub, "gh-1", control, {"name": "reboot"}).json()
    assert httpx.delete(f"{hub.url}/v1/commands/{command['id']}", headers=bearer(reader), timeout=10).status_code == 403
    assert httpx.get(f"{hub.url}/v1/commands/{command['id']}", headers=bearer(device), timeout=10).status_code == 401
    assert httpx.get(f"{hub.url}/v1/commands/{command['id']}", headers=bearer(control), timeout=10).status_code == 200


def test_bad_requests_name_their_field_and_unknown_things_are_404(hub):
    control = control_token(hub)
    hub.device_token("gh-1")
    for body, field in [({"args": {}}, "name"), ({"name": "9x"}, "name"), ({"name": "x", "args": [1]}, "args"),
                        ({"name": "x", "ttl": 999}, "ttl"), ({"name": "x", "priority": 10}, "priority"),
                        ({"name": "x", "args": {"a": "z" * 9000}}, "args"), ("{not json", "JSON")]:
        response = send(hub, "gh-1", control, body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] == "invalid_command" and field in response.json()["message"], response.text
    assert send(hub, "nobody", control, {"name": "reboot"}).status_code == 404
    assert send(hub, "nobody", control, {"name": "reboot"}).json() == {"error": "not_found"}
    assert httpx.get(f"{hub.url}/v1/commands/cmd_nothing", headers=bearer(control), timeout=10).status_code == 404
    assert httpx.delete(f"{hub.url}/v1/commands/cmd_nothing", headers=bearer(control), timeout=10).status_code == 404
    assert httpx.get(f"{hub.url}/v1/devices/nobody/commands", headers=bearer(control), timeout=10).status_code == 404
    bad = httpx.get(f"{hub.url}/v1/devices/gh-1/commands", params={"status": "queued,lost"}, headers=bearer(control), timeout=10)
    assert bad.status_code == 400 and "lost" in bad.json()["message"]
    assert send(hub, "gh-1", control, {"name": "x"}, params={"wait": "60001"}).status_code == 400
    assert send(hub, "gh-1", control, "x" * 70_000).status_code == 413


def test_a_full_queue_refuses_and_drops_nothing(hub_factory):
    hub = hub_factory("--max-queued-commands", "2").start()
    control = control_token(hub)
    hub.device_token("gh-1")
    first = send(hub, "gh-1", control, {"name": "a"}).json()
    second = send(hub, "gh-1", control, {"name": "b"}).json()
    refused = send(hub, "gh-1", control, {"name": "c"})
    assert refused.status_code == 409 and refused.json()["error"] == "queue_full"
    listed = httpx.get(f"{hub.url}/v1/devices/gh-1/commands", headers=bearer(control), timeout=10).json()["commands"]
    assert [c["id"] for c in listed] == [second["id"], first["id"]]  # newest first, nothing dropped
    cancel = httpx.delete(f"{hub.url}/v1/commands/{first['id']}", headers=bearer(control), timeout=10)
    assert cancel.status_code == 200 and cancel.json()["status"] == "canceled" and cancel.json()["completedAt"]
    again = httpx.delete(f"{hub.url}/v1/commands/{first['id']}", headers=bearer(control), timeout=10)
    assert again.status_code == 409 and again.json()["error"] == "final"
    assert send(hub, "gh-1", control, {"name": "c"}).status_code == 202  # a final one made room
    only_open = httpx.get(f"{hub.url}/v1/devices/gh-1/commands", params={"status": "queued,sent", "limit": "1"},
                          headers=bearer(control), timeout=10).json()["commands"]
    assert len(only_open) == 1 and only_open[0]["status"] == "queued" and only_open[0]["name"] == "c"


def test_a_command_expires_on_time_though_nobody_looks_and_the_stream_says_so(hub):
    control, reader = control_token(hub), hub.read_token()
    hub.device_token("gh-1")
    with event_stream(hub, reader) as stream:
        command = send(hub, "gh-1", control, {"name": "reboot", "ttl": 1000}).json()
        queued = json.loads(stream.next_of("command").data)
        assert {k: queued[k] for k in ("id", "device", "name", "status")} == {
            "id": command["id"], "device": "gh-1", "name": "reboot", "status": "queued"}
        expired = json.loads(stream.next_of("command").data)
        assert (expired["id"], expired["status"]) == (command["id"], "expired")
        assert expired["ts"] >= command["expiresAt"]
    stored = httpx.get(f"{hub.url}/v1/commands/{command['id']}", headers=bearer(reader), timeout=10).json()
    assert stored["status"] == "expired" and stored["completedAt"] >= command["expiresAt"]
    assert wait_for(lambda: metric_value(scrape(hub), "telehub_commands", status="expired") == 1, timeout=5)


def test_wait_answers_with_the_status_then(hub):
    control = control_token(hub)
    hub.device_token("gh-1")
    started = time.monotonic()
    response = send(hub, "gh-1", control, {"name": "reboot"}, params={"wait": "400"})
    assert response.status_code == 200 and response.json()["status"] == "queued"
    assert time.monotonic() - started >= 0.35
    # A command that becomes final meanwhile (here: expires) is answered then, not at the end of the wait.
    started = time.monotonic()
    response = send(hub, "gh-1", control, {"name": "reboot", "ttl": 1000}, params={"wait": "20000"})
    assert response.status_code == 200 and response.json()["status"] == "expired"
    assert time.monotonic() - started < 5


def test_a_change_through_a_dashboard_session_needs_its_csrf_value(hub):
    hub.device_token("gh-1")
    control_cookie = httpx.post(f"{hub.url}/v1/session", json={"token": control_token(hub)}, timeout=10).cookies[COOKIE]
    read_cookie = httpx.post(f"{hub.url}/v1/session", json={"token": hub.read_token()}, timeout=10).cookies[COOKIE]
    csrf = httpx.get(f"{hub.url}/v1/session", cookies={COOKIE: control_cookie}, timeout=10).json()["csrf"]
    other_csrf = httpx.get(f"{hub.url}/v1/session", cookies={COOKIE: read_cookie}, timeout=10).json()["csrf"]
    body = json.dumps({"name": "reboot"})
    without = httpx.post(f"{hub.url}/v1/devices/gh-1/commands", cookies={COOKIE: control_cookie}, content=body, timeout=10)
    assert without.status_code == 403 and "X-Telehub-CSRF" in without.json()["message"]
    wrong = httpx.post(f"{hub.url}/v1/devices/gh-1/commands", cookies={COOKIE: control_cookie}, content=body,
                       headers={"X-Telehub-CSRF": other_csrf}, timeout=10)
    assert wrong.status_code == 403
    right = httpx.post(f"{hub.url}/v1/devices/gh-1/commands", cookies={COOKIE: control_cookie}, content=body,
                       headers={"X-Telehub-CSRF": csrf}, timeout=10)
    assert right.status_code == 202, right.text
    # Reading needs no such header; a read session may read but not send.
    assert httpx.get(f"{hub.url}/v1/devices/gh-1/commands", cookies={COOKIE: control_cookie}, timeout=10).status_code == 200
    as_reader = httpx.post(f"{hub.url}/v1/devices/gh-1/commands", cookies={COOKIE: read_cookie}, content=body,
                           headers={"X-Telehub-CSRF": other_csrf}, timeout=10)
    assert as_reader.status_code == 403


def test_accepted_commands_survive_a_restart_and_a_kill(hub):
    control = control_token(hub)
    hub.device_token("gh-1")
    first = send(hub, "gh-1", control, {"name": "a"}).json()
    hub.restart()
    second = send(hub, "gh-1", control, {"name": "b"}).json()
    hub.kill9()
    hub.start()
    listed = httpx.get(f"{hub.url}/v1/devices/gh-1/commands", headers=bearer(control), timeout=10).json()["commands"]
    assert [c["id"] for c in listed] == [second["id"], first["id"]]
    assert all(c["status"] == "queued" for c in listed)
