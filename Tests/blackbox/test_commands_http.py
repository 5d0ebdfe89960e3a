"""Commands for devices on HTTP (contract v1.2): waiting commands ride on the
answer to `POST /v1/ingest`, answers go through the same endpoint, and
`GET /v1/ingest/commands?wait=` long-polls."""
import threading
import time

import httpx

from conftest import bearer, reading


def control_token(hub) -> str:
    return hub.cli("token", "create", "--control").stdout.strip()


def post(hub, token, message):
    response = httpx.post(f"{hub.url}/v1/ingest", headers=bearer(token), json=message, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def send_command(hub, control, **body):
    response = httpx.post(f"{hub.url}/v1/devices/gh-1/commands", headers=bearer(control), json={"name": "reboot", **body},
                          timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def status(hub, control, id_):
    return httpx.get(f"{hub.url}/v1/commands/{id_}", headers=bearer(control), timeout=10).json()["status"]


def test_commands_ride_on_ingest_answers_and_answers_come_back_the_same_way(hub):
    control, token = control_token(hub), hub.device_token("gh-1")
    assert post(hub, token, reading(1, {"t": 1})) == {"ack": 1}  # nothing waiting: no commands key
    sent = send_command(hub, control, name="set-interval", args={"seconds": 5})
    answer = post(hub, token, {"type": "reading", "metrics": {"t": 2}})
    assert answer == {"ack": None, "commands": [{"type": "command", "id": sent["id"], "name": "set-interval",
                                                 "args": {"seconds": 5}, "expiresAt": sent["expiresAt"]}]}
    assert status(hub, control, sent["id"]) == "sent"
    # Not acknowledged: the next answer carries it again.
    assert [c["id"] for c in post(hub, token, {"type": "reading", "metrics": {"t": 3}})["commands"]] == [sent["id"]]
    assert post(hub, token, {"type": "command_ack", "id": sent["id"]}) == {"ack": None}
    assert status(hub, control, sent["id"]) == "delivered"
    assert "commands" not in post(hub, token, {"type": "reading", "metrics": {"t": 4}})
    assert post(hub, token, {"type": "command_result", "id": sent["id"], "status": "succeeded", "result": {"ok": True},
                             "seq": 2}) == {"ack": 2}
    done = httpx.get(f"{hub.url}/v1/commands/{sent['id']}", headers=bearer(control), timeout=10).json()
    assert (done["status"], done["result"], done["attempts"]) == ("succeeded", {"ok": True}, 2)


def test_the_long_poll_answers_when_a_command_arrives(hub):
    control, token = control_token(hub), hub.device_token("gh-1")
    empty = httpx.get(f"{hub.url}/v1/ingest/commands", params={"wait": "0"}, headers=bearer(token), timeout=10)
    assert empty.status_code == 200 and empty.json() == {"commands": []}
    result = {}

    def poll():
        started = time.monotonic()
        response = httpx.get(f"{hub.url}/v1/ingest/commands", params={"wait": "20000"}, headers=bearer(token), timeout=30)
        result["response"], result["seconds"] = response, time.monotonic() - started

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    sent = send_command(hub, control)
    poller.join(timeout=25)
    assert result["response"].status_code == 200
    assert [c["id"] for c in result["response"].json()["commands"]] == [sent["id"]]
    assert result["seconds"] < 5
    assert status(hub, control, sent["id"]) == "sent"
    bad = httpx.get(f"{hub.url}/v1/ingest/commands", params={"wait": "61000"}, headers=bearer(token), timeout=10)
    assert bad.status_code == 400
    assert httpx.get(f"{hub.url}/v1/ingest/commands", headers=bearer(control), timeout=10).status_code == 401


def test_a_report_through_ingest_is_stored_with_or_without_seq_and_a_repeat_is_not_applied_twice(hub):
    control, reader, token = control_token(hub), hub.read_token(), hub.device_token("gh-1")
    assert post(hub, token, {"type": "reported", "state": {"interval": 10}}) == {"ack": None}
    now = httpx.get(f"{hub.url}/v1/devices/gh-1/state", headers=bearer(reader), timeout=10).json()
    assert (now["reported"]["version"], now["reported"]["state"]) == (1, {"interval": 10})
    assert post(hub, token, {"type": "reported", "state": {"fw": "1.2"}, "applied": 0, "seq": 5}) == {"ack": 5}
    assert post(hub, token, {"type": "reported", "state": {"fw": "9"}, "seq": 5}) == {"ack": 5}  # a repeat
    now = httpx.get(f"{hub.url}/v1/devices/gh-1/state", headers=bearer(reader), timeout=10).json()
    assert (now["reported"]["version"], now["reported"]["state"]) == (2, {"interval": 10, "fw": "1.2"})
    bad = httpx.post(f"{hub.url}/v1/ingest", headers=bearer(token), json={"type": "reported", "state": [1]}, timeout=10)
    assert bad.status_code == 400 and bad.json()["message"].startswith("state")
    assert httpx.post(f"{hub.url}/v1/ingest", headers=bearer(control), json={"type": "reported", "state": {}},
                      timeout=10).status_code == 401
