"""Commands over a device's WebSocket (contract v1.2): the hub writes each
command once it is stored, to a device online now or when it connects; the
device acks and answers, with a seq when it wants the hub's ack after commit;
nothing is sent twice except what was never delivered, with the same id."""
import json
import time
from contextlib import contextmanager

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from conftest import bearer, event_stream, open_device, reading, wait_for


def control_token(hub) -> str:
    return hub.cli("token", "create", "--control").stdout.strip()


def send_command(hub, control, device="gh-1", **body):
    response = httpx.post(f"{hub.url}/v1/devices/{device}/commands", headers=bearer(control),
                          json={"name": "reboot", **body}, timeout=10)
    assert response.status_code == 202, response.text
    return response.json()


def command(hub, control, id_):
    return httpx.get(f"{hub.url}/v1/commands/{id_}", headers=bearer(control), timeout=10).json()


def next_command(device, timeout=5.0):
    """The next `command` message, skipping anything else the hub sends."""
    deadline = time.monotonic() + timeout
    while True:
        message = device.recv(timeout=max(0.1, deadline - time.monotonic()))
        if message.get("type") == "command":
            return message


@contextmanager
def holding_a_command(hub):
    """A control token, one command sent to gh-1, and gh-1 connected and holding it."""
    control, token = control_token(hub), hub.device_token("gh-1")
    sent = send_command(hub, control)
    with open_device(hub, token) as device:
        assert next_command(device)["id"] == sent["id"]
        yield control, sent, device


def nothing_more(device, seconds=0.5):
    try:
        message = device.recv(timeout=seconds)
    except TimeoutError:
        return True
    raise AssertionError(f"the hub sent {message}")


def test_a_command_reaches_an_online_device_and_its_answers_are_stored(hub):
    control = control_token(hub)
    token = hub.device_token("gh-1")
    with event_stream(hub, hub.read_token()) as stream, open_device(hub, token) as device:
        sent = send_command(hub, control, name="set-interval", args={"seconds": 5})
        message = next_command(device)
        assert message == {"type": "command", "id": sent["id"], "name": "set-interval", "args": {"seconds": 5},
                           "expiresAt": sent["expiresAt"]}
        assert wait_for(lambda: command(hub, control, sent["id"])["status"] == "sent")
        device.send({"type": "command_ack", "id": sent["id"]})
        assert wait_for(lambda: command(hub, control, sent["id"])["status"] == "delivered")
        assert device.request({"type": "command_result", "id": sent["id"], "status": "succeeded",
                               "result": {"applied": True}, "seq": 1}) == {"type": "ack", "seq": 1}
        done = command(hub, control, sent["id"])
        assert (done["status"], done["result"], done["attempts"]) == ("succeeded", {"applied": True}, 1)
        assert done["deliveredAt"] <= done["completedAt"]
        statuses = [json.loads(stream.next_of("command").data)["status"] for _ in range(4)]
        assert statuses == ["queued", "sent", "delivered", "succeeded"]
        # A repeat is acknowledged again and changes nothing; so is a result after the end.
        assert device.request({"type": "command_result", "id": sent["id"], "status": "failed", "seq": 1}) == {
            "type": "ack", "seq": 1}
        assert device.request({"type": "command_result", "id": sent["id"], "status": "failed", "message": "x",
                               "seq": 2}) == {"type": "ack", "seq": 2}
        assert command(hub, control, sent["id"]) == done
        # The seq is the device's one sequence: readings go on after it.
        assert device.request(reading(3, {"t": 1.0})) == {"type": "ack", "seq": 3}


def test_an_offline_device_gets_its_commands_when_it_connects_and_undelivered_ones_again(hub):
    control = control_token(hub)
    token = hub.device_token("gh-1")
    first = send_command(hub, control, name="first")
    second = send_command(hub, control, name="second", priority=9)
    with open_device(hub, token) as device:
        got = [next_command(device)["id"], next_command(device)["id"]]
        assert got == [second["id"], first["id"]]  # priority first
        device.send({"type": "command_ack", "id": second["id"]})
        assert wait_for(lambda: command(hub, control, second["id"])["status"] == "delivered")
    # The link dropped before the first was acknowledged: the next connection gets it again, same id.
    with open_device(hub, token) as device:
        again = next_command(device)
        assert again["id"] == first["id"]
        assert nothing_more(device)
    assert command(hub, control, first["id"])["attempts"] == 2
    assert command(hub, control, second["id"])["attempts"] == 1


def test_at_most_eight_are_in_flight_and_an_ack_lets_the_next_through(hub):
    control = control_token(hub)
    token = hub.device_token("gh-1")
    ids = [send_command(hub, control, name=f"c{i}")["id"] for i in range(10)]
    with open_device(hub, token) as device:
        got = [next_command(device)["id"] for _ in range(8)]
        assert got == ids[:8]
        assert nothing_more(device)
        device.send({"type": "command_result", "id": ids[0], "status": "succeeded"})
        assert next_command(device)["id"] == ids[8]
        assert nothing_more(device)


def test_a_command_accepted_before_a_kill_reaches_the_device_after_the_restart(hub):
    control = control_token(hub)
    token = hub.device_token("gh-1")
    sent = send_command(hub, control)
    hub.kill9()
    hub.start()
    with open_device(hub, token) as device:
        assert next_command(device)["id"] == sent["id"]


def test_a_device_cannot_answer_another_devices_command_and_expired_ones_are_never_sent(hub):
    control = control_token(hub)
    mine, theirs = hub.device_token("gh-1"), hub.device_token("gh-2")
    sent = send_command(hub, control)
    short = send_command(hub, control, name="soon", ttl=1000)
    with open_device(hub, theirs) as intruder:
        assert intruder.request({"type": "command_result", "id": sent["id"], "status": "failed", "seq": 1}) == {
            "type": "ack", "seq": 1}
    assert command(hub, control, sent["id"])["status"] == "queued"
    assert wait_for(lambda: command(hub, control, short["id"])["status"] == "expired", timeout=5)
    with open_device(hub, mine) as device:
        assert next_command(device)["id"] == sent["id"]
        assert nothing_more(device)
        device.send({"type": "command_result", "id": short["id"], "status": "succeeded"})
    assert command(hub, control, short["id"])["status"] == "expired"


def test_malformed_answers_are_refused_with_the_field_named(hub):
    token = hub.device_token("gh-1")
    with open_device(hub, token) as device:
        for message, field in [({"type": "command_result", "id": "cmd_x", "status": "done", "seq": 1}, "status"),
                               ({"type": "command_ack", "seq": 2}, "id"),
                               ({"type": "command_result", "id": "cmd_x", "status": "failed", "message": "m" * 2000, "seq": 3}, "message"),
                               ({"type": "command_result", "id": "cmd_x", "status": "succeeded", "result": [1], "seq": 4}, "result")]:
            reply = device.request(message)
            assert reply["type"] == "error" and reply["code"] == "invalid_message" and reply["message"].startswith(field), reply
            assert reply["seq"] == message["seq"]


def test_the_cli_sends_lists_and_cancels_and_a_running_hub_delivers_within_two_seconds(hub):
    import subprocess
    token = hub.device_token("gh-1")
    with open_device(hub, token) as device:
        started = time.monotonic()
        sent_id = hub.cli("command", "send", "gh-1", "set-interval", "--args", '{"seconds":5}', "--ttl", "1h").stdout.strip()
        assert sent_id.startswith("cmd_")
        message = next_command(device, timeout=2.5)
        assert (message["id"], message["args"]) == (sent_id, {"seconds": 5})
        assert time.monotonic() - started < 2.5
        # --wait answers once the device does.
        waiting = subprocess.Popen([str(hub.binary), "command", "send", "gh-1", "reboot", "--wait", "10s", "--json",
                                    "--db", str(hub.db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        reboot = next_command(device, timeout=3)
        device.send({"type": "command_result", "id": reboot["id"], "status": "failed", "message": "busy"})
        out, err = waiting.communicate(timeout=15)
        assert waiting.returncode == 0, err
        answered = json.loads(out)
        assert (answered["id"], answered["status"], answered["message"]) == (reboot["id"], "failed", "busy")
    listed = json.loads(hub.cli("command", "list", "--device", "gh-1", "--json").stdout)
    assert [c["id"] for c in listed] == [reboot["id"], sent_id]
    assert [c["status"] for c in listed] == ["failed", "sent"]
    only_sent = json.loads(hub.cli("command", "list", "--status", "sent", "--json").stdout)
    assert [c["id"] for c in only_sent] == [sent_id]
    assert hub.cli("command", "cancel", sent_id).stdout.strip() == f"{sent_id} canceled"
    again = hub.cli("command", "cancel", sent_id, check=False)
    assert again.returncode != 0 and "already canceled" in again.stderr
    for args, words in [(("command", "send", "nobody", "reboot"), "no device nobody"),
                        (("command", "send", "gh-1", "reboot", "--args", "{bad"), "--args is not JSON"),
                        (("command", "send", "gh-1", "9bad"), "name:"),
                        (("command", "send", "gh-1", "reboot", "--priority", "12"), "priority"),
                        (("command", "list", "--status", "lost"), "lost")]:
        result = hub.cli(*args, check=False)
        assert result.returncode != 0 and words in result.stderr, (args, result.stderr)


def test_a_cancel_racing_the_devices_result_ends_in_exactly_one_final_status(hub):
    """DELETE and the device's result for the same command at the same time:
    whichever commits first wins, the other changes nothing, and the answer
    to each says which (200 canceled, or 409 final with the result kept)."""
    import threading
    control = control_token(hub)
    token = hub.device_token("gh-1")
    finals = {}
    with event_stream(hub, hub.read_token()) as stream, open_device(hub, token) as device:
        outcomes = []
        for i in range(20):
            sent = send_command(hub, control, name=f"race{i}")
            assert next_command(device)["id"] == sent["id"]
            canceled = {}
            racer = threading.Thread(target=lambda: canceled.update(answer=httpx.delete(
                f"{hub.url}/v1/commands/{sent['id']}", headers=bearer(control), timeout=10)))
            racer.start()
            if i % 4 == 3:
                racer.join(10)  # the cancel surely first: the result after it is acked and changes nothing
            else:
                time.sleep((0, 0.005, 0.02)[i % 4])  # a true race
            assert device.request({"type": "command_result", "id": sent["id"], "status": "succeeded", "result": {"n": i},
                                   "seq": i + 1}) == {"type": "ack", "seq": i + 1}
            racer.join(10)
            answer, final = canceled["answer"], command(hub, control, sent["id"])
            if answer.status_code == 200:
                assert answer.json()["status"] == "canceled" and (final["status"], final["result"]) == ("canceled", None)
            else:
                assert (answer.status_code, answer.json()["error"]) == (409, "final"), answer.text
                assert (final["status"], final["result"]) == ("succeeded", {"n": i})
            outcomes.append(final["status"])
        # The stream tells each command's end once.
        deadline = time.monotonic() + 5
        while sum(len(v) for v in finals.values()) < 20 and time.monotonic() < deadline:
            event = json.loads(stream.next_of("command").data)
            if event["status"] in ("succeeded", "canceled"):
                finals.setdefault(event["id"], []).append(event["status"])
    assert len(finals) == 20 and all(len(statuses) == 1 for statuses in finals.values()), finals
    assert set(outcomes) == {"canceled", "succeeded"}, outcomes  # both orders happened
    print(f"cancel race: {outcomes.count('canceled')} canceled, {outcomes.count('succeeded')} succeeded")


def test_a_result_over_8_kib_is_refused_and_the_command_stays_open(hub):
    with holding_a_command(hub) as (control, sent, device):
        big = {"blob": "x" * 8200}
        reply = device.request({"type": "command_result", "id": sent["id"], "status": "succeeded", "result": big, "seq": 1})
        assert reply["type"] == "error" and reply["code"] == "invalid_message" and reply["message"].startswith("result"), reply
        assert command(hub, control, sent["id"])["status"] == "sent"
        fits = {"blob": "x" * 8000}
        assert device.request({"type": "command_result", "id": sent["id"], "status": "succeeded", "result": fits,
                               "seq": 2}) == {"type": "ack", "seq": 2}
    done = command(hub, control, sent["id"])
    assert (done["status"], done["result"]) == ("succeeded", fits)


def test_answers_without_seq_for_unknown_or_repeated_ids_get_no_reply_and_change_nothing(hub):
    with holding_a_command(hub) as (control, sent, device):
        device.send({"type": "command_ack", "id": "cmd_unknown"})
        device.send({"type": "command_result", "id": "cmd_unknown", "status": "succeeded"})
        assert nothing_more(device)
        device.send({"type": "command_result", "id": sent["id"], "status": "succeeded", "result": {"n": 1}})
        assert wait_for(lambda: command(hub, control, sent["id"])["status"] == "succeeded")
        device.send({"type": "command_result", "id": sent["id"], "status": "failed", "message": "late"})
        device.send({"type": "command_ack", "id": sent["id"]})
        assert nothing_more(device)
        # The connection is still good and the sequence untouched.
        assert device.request(reading(1, {"t": 1.0})) == {"type": "ack", "seq": 1}
    done = command(hub, control, sent["id"])
    assert (done["status"], done["result"]) == ("succeeded", {"n": 1})
