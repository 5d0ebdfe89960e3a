"""The Python client against devices/client-rules.json, the table of rules it
shares with the Swift SDK (whose tests read the same file)."""
import asyncio
import importlib
import json
import re
import sqlite3

from conftest import ROOT

from telehub_device import ReadingBuffer, now_ms
from telehub_device import buffer as buffer_module
from telehub_device import client as client_module
from telehub_device.pacing import Backoff

RULES = json.loads((ROOT / "devices" / "client-rules.json").read_text())


def normalized(sql: str) -> str:
    sql = re.sub(r"\s+", " ", sql.replace("IF NOT EXISTS ", "")).strip()
    return re.sub(r"\s*([(),])\s*", r"\1", sql)


def test_refusals_are_explained_in_the_table_words():
    for refusal in RULES["refusals"]:
        text, permanent = client_module._explain_status(refusal["status"])
        assert text == refusal["text"], refusal["status"]
        assert permanent == refusal["permanent"], refusal["status"]


def test_defaults_are_the_table_ones():
    rules = RULES["defaults"]
    client = client_module.TelehubDevice("ws://127.0.0.1:9/v1/ingest", "thd_x", buffer_path=":memory:")
    assert client.batch_size == rules["batchSize"]
    assert client.window == rules["window"]
    assert client.bucket.rate == rules["backfillReadingsPerSecond"]
    assert client.default_heartbeat == rules["heartbeatSeconds"]
    assert client.buffer.max_buffered == rules["bufferCapacity"]


def test_backoff_defaults_and_bounds_are_the_table_ones():
    rules = RULES["backoff"]
    client = client_module.TelehubDevice("ws://127.0.0.1:9/v1/ingest", "thd_x", buffer_path=":memory:")
    assert (client.backoff.base, client.backoff.cap, client.stable_after) == (
        rules["baseSeconds"], rules["capSeconds"], rules["stableAfterSeconds"])
    backoff = Backoff(rules["baseSeconds"], rules["capSeconds"])
    assert [backoff.ceiling(n) for n in range(8)] == [min(rules["capSeconds"], rules["baseSeconds"] * 2 ** n) for n in range(8)]
    for _ in range(200):
        assert rules["capSeconds"] / 2 <= backoff.delay_after_permanent_failure() <= rules["capSeconds"]


def test_states_are_the_table_ones():
    assert list(client_module.STATES) == [state["name"] for state in RULES["states"]]


def test_the_buffer_schema_is_the_table_one(tmp_path):
    path = tmp_path / "buffer.sqlite"
    ReadingBuffer(str(path)).close()
    with sqlite3.connect(path) as db:
        found = [row[0] for row in db.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        meta = dict(db.execute("SELECT key, value FROM meta"))
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert sorted(map(normalized, found)) == sorted(map(normalized, RULES["buffer"]["schema"]))
    assert {"reading", "control", "command", "meta"} <= set(tables)
    assert meta == RULES["buffer"]["meta"]


def test_a_buffer_made_from_the_table_schema_opens(tmp_path):
    """The Swift SDK writes the same schema: a file it made is one this client opens."""
    path = tmp_path / "swift.sqlite"
    with sqlite3.connect(path) as db:
        for statement in RULES["buffer"]["schema"]:
            db.execute(statement)
        db.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", RULES["buffer"]["meta"].items())
        db.execute("INSERT INTO control(body, message) VALUES (?, NULL)", ('{"type":"reported","state":{"a":1}}',))
    buffer = ReadingBuffer(str(path))
    assert buffer.pending_control == 1 and buffer.next_seq == RULES["buffer"]["meta"]["next_seq"]
    assert json.loads(buffer.encode(buffer.assign_next(10))) == {"type": "reported", "seq": 1, "state": {"a": 1}}


COMMANDS = RULES["commands"]


def test_the_command_texts_and_bounds_are_the_table_ones():
    assert client_module.NO_HANDLER == COMMANDS["noHandler"]
    assert buffer_module.INTERRUPTED == COMMANDS["interrupted"]
    assert buffer_module.MAX_PENDING_CONTROL == COMMANDS["maxPendingControl"]
    client = client_module.TelehubDevice("ws://127.0.0.1:9/v1/ingest", "thd_x", buffer_path=":memory:")
    assert client.buffer.max_pending_control == COMMANDS["maxPendingControl"]


def test_an_interrupted_command_fails_with_the_table_text(tmp_path):
    path = tmp_path / "buffer.sqlite"
    buffer = ReadingBuffer(str(path))
    buffer.begin_command("cmd_1", now_ms() + 60_000)
    buffer.close()
    reopened = ReadingBuffer(str(path))
    result = json.loads(reopened.encode(reopened.assign_next(10)))
    assert result["status"] == "failed" and result["message"] == COMMANDS["interrupted"]


def test_a_command_without_a_handler_fails_with_the_table_text(tmp_path):
    class Socket:
        async def send(self, text):
            pass

    async def scenario():
        client = client_module.TelehubDevice("ws://127.0.0.1:9/v1/ingest", "thd_x", str(tmp_path / "b.sqlite"))
        session = client_module._Session(Socket(), {"type": "hello"}, 10)
        client._on_command(session, {"type": "command", "id": "cmd_1", "name": "reboot", "args": {},
                                     "expiresAt": now_ms() + 60_000})
        while client._handler_tasks:
            await asyncio.gather(*list(client._handler_tasks))
        return json.loads(client.buffer.encode(client.buffer.assign_next(10)))

    result = asyncio.run(scenario())
    assert result["status"] == "failed" and result["message"] == COMMANDS["noHandler"].format(name="reboot")


# Each rule of "commands" in the table, by its first words, and the tests that
# check it: a rule added to the table fails here until a test covers it.
RULE_TESTS = {
    "command: when its id is in `command`": [
        "test_commands.test_a_command_is_acknowledged_run_once_and_its_result_buffered",
        "test_commands.test_a_command_is_never_run_again_by_a_new_process_on_the_same_buffer",
        "test_buffer.test_a_command_is_started_once_even_across_reopen",
        "test_buffer.test_finishing_a_command_is_one_transaction",
        "test_live_commands.test_a_device_killed_before_its_ack_is_sent_the_command_again_and_does_not_run_it",
    ],
    "a command with no handler": [
        "test_client_rules.test_a_command_without_a_handler_fails_with_the_table_text",
        "test_commands.test_failures_are_results_with_a_message",
    ],
    "on opening the buffer": [
        "test_buffer.test_reopening_a_buffer_with_an_unfinished_command_fails_it_and_never_runs_it_again",
        "test_client_rules.test_an_interrupted_command_fails_with_the_table_text",
        "test_live_commands.test_a_device_killed_while_its_handler_runs_reports_it_interrupted_and_never_runs_it_again",
    ],
    "control messages go before readings": [
        "test_buffer.test_control_messages_take_the_next_seq_when_first_sent_and_go_before_readings",
        "test_buffer.test_a_control_message_is_resent_unchanged_until_acknowledged_even_after_reopen",
        "test_buffer.test_a_cumulative_ack_or_hello_removes_control_messages_at_or_below_it",
        "test_buffer.test_a_control_message_refused_for_good_is_dropped",
        "test_live_commands.test_a_device_killed_between_its_result_and_the_hubs_ack_sends_the_result_after_restart",
    ],
    "desired:": [
        "test_buffer.test_a_desired_version_is_applied_and_reported_once",
        "test_commands.test_desired_state_is_applied_once_per_version_and_reported",
        "test_live_commands.test_desired_state_is_applied_once_and_the_hub_shows_it_applied",
    ],
    "report(patch)": [
        "test_buffer.test_reports_are_bounded_by_max_pending_control",
        "test_commands.test_report_buffers_a_reported_message_and_refuses_past_the_bound",
    ],
    "a finished command row is forgotten": [
        "test_buffer.test_finished_commands_are_forgotten_an_hour_after_they_expire",
    ],
}


def test_every_command_rule_of_the_table_has_tests():
    for rule in COMMANDS["rules"]:
        keys = [key for key in RULE_TESTS if rule.startswith(key)]
        assert len(keys) == 1, f"no tests listed for the rule: {rule}"
    assert len(RULE_TESTS) == len(COMMANDS["rules"])
    for tests in RULE_TESTS.values():
        for name in tests:
            module, function = name.split(".")
            assert callable(getattr(importlib.import_module(module), function, None)), name
