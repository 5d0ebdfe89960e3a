"""The offline buffer on its own: no sockets, no hub."""
import json
import math
import sqlite3

import pytest

from telehub_device import INTERRUPTED, ControlBacklogFull, ReadingBuffer, now_ms

T0 = 1_732_200_000_000


def fill(buffer, n, start=0):
    buffer.append_many([({"v": i}, T0 + i) for i in range(start, start + n)])


def message(buffer, seq):
    return json.loads(buffer.encode(seq))


def stamps(buffer, seq):
    return [r["ts"] for r in message(buffer, seq)["readings"]]


def balance(buffer):
    """Readings in == readings out: what was there, plus sent, equals acked,
    rejected, dropped and still buffered."""
    return buffer.initially_buffered + buffer.sent == buffer.acked + buffer.rejected + buffer.dropped_full + buffer.buffered


def test_full_buffer_drops_the_oldest_unsent_and_counts_them(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite", max_buffered=10)
    fill(buffer, 15)
    assert buffer.buffered == 10 and buffer.dropped_full == 5 and buffer.sent == 15
    seq = buffer.assign(4)
    assert stamps(buffer, seq) == [T0 + i for i in range(11, 15)]  # the newest four
    fill(buffer, 3, start=15)
    # Three more over the bound: the oldest unsent go (5, 6, 7), never the assigned ones.
    assert buffer.buffered == 10 and buffer.dropped_full == 8
    assert stamps(buffer, seq) == [T0 + i for i in range(11, 15)]
    rest = buffer.assign(100)
    assert stamps(buffer, rest) == [T0 + i for i in (8, 9, 10, 15, 16, 17)]
    assert balance(buffer)


def test_assigned_messages_are_never_dropped_even_when_everything_is_in_flight(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite", max_buffered=4)
    fill(buffer, 4)
    seq = buffer.assign(4)
    fill(buffer, 2, start=4)  # no room: the new readings are the oldest unsent, so they go
    assert buffer.buffered == 4 and buffer.dropped_full == 2 and buffer.unsent == 0
    assert stamps(buffer, seq) == [T0 + i for i in range(4)]
    assert balance(buffer)


def test_new_messages_take_the_newest_unsent_readings_in_time_order(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    fill(buffer, 250)
    first, second, third = buffer.assign(100), buffer.assign(100), buffer.assign(100)
    assert (first, second, third) == (1, 2, 3)
    assert stamps(buffer, first) == [T0 + i for i in range(150, 250)]
    assert stamps(buffer, second) == [T0 + i for i in range(50, 150)]
    assert stamps(buffer, third) == [T0 + i for i in range(50)]
    assert buffer.assign(100) is None and buffer.unsent == 0
    assert message(buffer, first)["type"] == "batch" and message(buffer, first)["seq"] == 1
    assert message(buffer, first)["readings"][0] == {"ts": T0 + 150, "metrics": {"v": 150}}


def test_messages_stay_under_max_bytes(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    buffer.append_many([({f"metric_{k}": k * 1.5 for k in range(20)}, T0 + i) for i in range(50)])
    seq = buffer.assign(50, max_bytes=2000)
    assert 1 <= buffer.message_count(seq) < 50
    assert len(buffer.encode(seq).encode()) <= 2000
    # A single reading over the limit still makes a message of one (the hub decides).
    one = buffer.assign(50, max_bytes=10)
    assert buffer.message_count(one) == 1


def test_ack_deletes_every_message_up_to_it(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    fill(buffer, 30)
    seqs = [buffer.assign(10) for _ in range(3)]
    assert seqs == [1, 2, 3]
    assert buffer.ack(2) == 20
    assert buffer.assigned_seqs == [3] and buffer.buffered == 10 and buffer.acked == 20
    assert buffer.ack(2) == 0  # acks repeat; nothing is counted twice
    assert buffer.ack(1) == 0
    assert buffer.encode(1) is None
    assert buffer.ack(3) == 10 and buffer.buffered == 0
    assert balance(buffer)


def test_hello_drops_what_the_hub_has_and_resends_the_rest_in_order(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    fill(buffer, 40)
    for _ in range(4):
        buffer.assign(10)
    assert buffer.on_hello(2) == [3, 4]
    assert buffer.acked == 20 and buffer.buffered == 20
    assert buffer.next_seq == 5
    # Resending is in seq order, and what follows starts after them.
    assert buffer.next_assigned_after(0) == 3 and buffer.next_assigned_after(3) == 4
    assert buffer.next_assigned_after(4) is None


def test_hello_moves_next_seq_past_the_hubs_last_seq(tmp_path):
    # A device whose buffer file is new, but the hub already has seqs up to 500:
    # reusing seq 1 would be taken for a duplicate and its readings lost.
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    assert buffer.on_hello(500) == []
    fill(buffer, 3)
    assert buffer.assign(10) == 501
    buffer.close()
    assert ReadingBuffer(tmp_path / "b.sqlite").next_seq == 502


def test_a_message_never_changes_once_it_has_a_seq(tmp_path):
    path = tmp_path / "b.sqlite"
    buffer = ReadingBuffer(path)
    fill(buffer, 5)
    seq = buffer.assign(10)
    text = buffer.encode(seq)
    fill(buffer, 5, start=5)          # newer readings do not join it
    buffer.on_hello(0)                # nor does a reconnect
    assert buffer.assign(10) == seq + 1
    assert buffer.encode(seq) == text
    buffer.close()
    reopened = ReadingBuffer(path)    # nor a restart
    assert reopened.encode(seq) == text
    assert reopened.assigned_seqs == [seq, seq + 1]


def test_seqs_persist_across_reopen_and_are_never_reused(tmp_path):
    path = tmp_path / "b.sqlite"
    buffer = ReadingBuffer(path)
    fill(buffer, 30)
    assert [buffer.assign(10) for _ in range(2)] == [1, 2]
    assert buffer.ack(2) == 20
    buffer.close()
    reopened = ReadingBuffer(path)
    assert reopened.next_seq == 3 and reopened.buffered == 10 and reopened.initially_buffered == 10
    assert reopened.assign(10) == 3
    reopened.ack(3)
    reopened.close()
    # Even with the buffer empty, the seq survives.
    again = ReadingBuffer(path)
    fill(again, 1)
    assert again.assign(10) == 4


def test_rejected_messages_are_deleted_and_counted(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    fill(buffer, 20)
    first, second = buffer.assign(10), buffer.assign(10)
    assert buffer.reject(first) == 10
    assert buffer.reject(first) == 0
    assert buffer.assigned_seqs == [second] and buffer.rejected == 10
    assert balance(buffer)


def test_unassign_returns_readings_to_the_pool_and_abandons_the_seq(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    fill(buffer, 10)
    seq = buffer.assign(10)
    assert buffer.unassign(seq) == 10
    assert buffer.unsent == 10 and buffer.assigned_seqs == []
    assert buffer.assign(5) == seq + 1


@pytest.mark.parametrize("metrics, ts", [
    ({}, None),
    ({"bad name": 1}, None),
    ({"1starts_with_digit": 1}, None),
    ({"x": math.nan}, None),
    ({"x": math.inf}, None),
    ({"x": "21.5"}, None),
    ({"x": None}, None),
    ({f"m{i}": i for i in range(257)}, None),
    ({"x": 1}, 1_000),            # before 2000: the clock is not set
    ({"x": 1}, True),
    ({"x": 1}, 1.5),
])
def test_what_the_hub_would_reject_is_refused_before_it_is_buffered(tmp_path, metrics, ts):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    with pytest.raises(ValueError):
        buffer.append_many([({"ok": 1}, T0), (metrics, ts)])
    assert buffer.buffered == 0 and buffer.sent == 0  # all or nothing


def test_accepted_values_and_default_ts(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    buffer.append({"door": True, "count": 3, "t": -1.25, "a.b-c_d": 0})
    seq = buffer.assign(1)
    reading = message(buffer, seq)["readings"][0]
    assert reading["metrics"] == {"door": True, "count": 3, "t": -1.25, "a.b-c_d": 0}
    assert reading["ts"] > T0  # now, taken when the reading was buffered


# -- control messages, commands and desired state (contract v1.2)

OLD_SCHEMA = """
CREATE TABLE reading (id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL, metrics TEXT NOT NULL, message INTEGER);
CREATE INDEX reading_unsent ON reading (id) WHERE message IS NULL;
CREATE INDEX reading_message ON reading (message) WHERE message IS NOT NULL;
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta(key, value) VALUES ('next_seq', 7);
INSERT INTO reading(ts, metrics, message) VALUES (1732200000000, '{"v":0}', 6);
INSERT INTO reading(ts, metrics, message) VALUES (1732200000001, '{"v":1}', NULL);
"""


def control_rows(path):
    with sqlite3.connect(path) as db:
        return [(json.loads(body), message) for body, message in db.execute("SELECT body, message FROM control ORDER BY id")]


def command_rows(path):
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT id, finished FROM command"))


def test_control_messages_take_the_next_seq_when_first_sent_and_go_before_readings(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    fill(buffer, 5)
    assert buffer.assign(2) == 1                      # readings already in flight keep their seq
    buffer.add_report({"firmware": "1.4"})
    assert buffer.begin_command("cmd_a", T0 + 3_600_000)
    buffer.finish_command("cmd_a", "succeeded", {"applied": True})
    assert buffer.pending_control == 2 and buffer.control_unsent == 2
    assert [buffer.assign_next(100) for _ in range(4)] == [2, 3, 4, None]
    assert message(buffer, 2) == {"type": "reported", "seq": 2, "state": {"firmware": "1.4"}}
    assert message(buffer, 3) == {"type": "command_result", "seq": 3, "id": "cmd_a", "status": "succeeded",
                                  "result": {"applied": True}}
    assert buffer.message_count(2) == 0 and buffer.is_control(3) and not buffer.is_control(4)
    assert stamps(buffer, 4) == [T0 + i for i in range(3)]  # one control message each, then the readings
    assert buffer.assigned_seqs == [1, 2, 3, 4]


def test_a_control_message_is_resent_unchanged_until_acknowledged_even_after_reopen(tmp_path):
    path = tmp_path / "b.sqlite"
    buffer = ReadingBuffer(path)
    buffer.add_report({"a": "é"})
    seq = buffer.assign_next(100)
    text = buffer.encode(seq)
    buffer.on_hello(0)                                # a reconnect resends it
    assert buffer.on_hello(0) == [seq] and buffer.encode(seq) == text
    buffer.close()
    reopened = ReadingBuffer(path)
    assert reopened.assigned_seqs == [seq] and reopened.encode(seq) == text
    assert reopened.control_unsent == 0 and reopened.pending_control == 1
    assert reopened.next_seq == seq + 1


def test_a_cumulative_ack_or_hello_removes_control_messages_at_or_below_it(tmp_path):
    path = tmp_path / "b.sqlite"
    buffer = ReadingBuffer(path)
    fill(buffer, 2)
    buffer.add_report({"n": 1})
    buffer.add_report({"n": 2})
    buffer.add_report({"n": 3})
    assert [buffer.assign_next(1) for _ in range(5)] == [1, 2, 3, 4, 5]
    assert buffer.ack(2) == 0                          # two reports, no readings
    assert buffer.pending_control == 1 and buffer.encode(2) is None
    assert buffer.on_hello(4) == [5]                   # the third report and one batch
    assert buffer.pending_control == 0 and buffer.acked == 1
    assert control_rows(path) == []


def test_a_control_message_refused_for_good_is_dropped(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    buffer.add_report({"n": 1})
    seq = buffer.assign_next(100)
    assert buffer.reject(seq) == 0 and buffer.rejected == 0  # not a reading
    assert buffer.pending_control == 0 and buffer.assigned_seqs == [] and buffer.encode(seq) is None


def test_a_command_is_started_once_even_across_reopen(tmp_path):
    path = tmp_path / "b.sqlite"
    buffer = ReadingBuffer(path)
    assert buffer.begin_command("cmd_1", now_ms() + 60_000)
    assert command_rows(path) == {"cmd_1": 0}          # committed before the handler runs
    assert not buffer.begin_command("cmd_1", now_ms() + 60_000)
    assert buffer.command_state("cmd_1") == "running" and buffer.command_state("cmd_2") is None
    buffer.finish_command("cmd_1", "failed", message="sensor busy")
    assert buffer.command_state("cmd_1") == "finished"
    buffer.close()
    reopened = ReadingBuffer(path)
    assert not reopened.begin_command("cmd_1", now_ms() + 60_000)
    assert reopened.interrupted == []
    assert [body for body, _ in control_rows(path)] == [
        {"type": "command_result", "id": "cmd_1", "status": "failed", "message": "sensor busy"}]


def test_reopening_a_buffer_with_an_unfinished_command_fails_it_and_never_runs_it_again(tmp_path):
    path = tmp_path / "b.sqlite"
    buffer = ReadingBuffer(path)
    assert buffer.begin_command("cmd_reboot", now_ms() + 60_000)
    buffer.close()                                     # the device died while the handler ran
    reopened = ReadingBuffer(path)
    assert reopened.interrupted == ["cmd_reboot"]
    assert command_rows(path) == {"cmd_reboot": 1}
    assert not reopened.begin_command("cmd_reboot", now_ms() + 60_000)
    seq = reopened.assign_next(100)
    assert message(reopened, seq) == {"type": "command_result", "seq": seq, "id": "cmd_reboot",
                                      "status": "failed", "message": INTERRUPTED}
    reopened.close()
    assert ReadingBuffer(path).interrupted == []       # failed once, not again at every open


def test_finishing_a_command_is_one_transaction(tmp_path, monkeypatch):
    path = tmp_path / "b.sqlite"
    buffer = ReadingBuffer(path)
    buffer.begin_command("cmd_1", now_ms() + 60_000)

    def full_disk(message):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(buffer, "_insert_control", full_disk)
    with pytest.raises(sqlite3.OperationalError):
        buffer.finish_command("cmd_1", "succeeded", {})
    assert command_rows(path) == {"cmd_1": 0} and control_rows(path) == []


def test_finished_commands_are_forgotten_an_hour_after_they_expire(tmp_path):
    path = tmp_path / "b.sqlite"
    buffer = ReadingBuffer(path)
    now = now_ms()
    for command_id, expires_at in [("old", now - 3_700_000), ("recent", now - 3_500_000), ("live", now + 60_000)]:
        buffer.begin_command(command_id, expires_at)
        buffer.finish_command(command_id, "succeeded", {})
    buffer.begin_command("old-but-running", now - 3_700_000)
    buffer.close()
    ReadingBuffer(path).close()
    # The running one failed as interrupted on open, and is then as old as "old".
    assert command_rows(path) == {"recent": 1, "live": 1}


def test_a_desired_version_is_applied_and_reported_once(tmp_path):
    path = tmp_path / "b.sqlite"
    buffer = ReadingBuffer(path)
    assert buffer.desired_applied == 0
    assert buffer.apply_desired(3, {"interval": 5})
    assert not buffer.apply_desired(3, {"interval": 5})
    assert not buffer.apply_desired(2, {"interval": 9})
    assert [body for body, _ in control_rows(path)] == [{"type": "reported", "state": {"interval": 5}, "applied": 3}]
    buffer.close()
    reopened = ReadingBuffer(path)
    assert reopened.desired_applied == 3 and not reopened.apply_desired(3, {})
    assert reopened.apply_desired(4, {}) and reopened.desired_applied == 4


def test_reports_are_bounded_by_max_pending_control(tmp_path):
    buffer = ReadingBuffer(tmp_path / "b.sqlite", max_pending_control=3)
    for n in range(3):
        buffer.add_report({"n": n})
    with pytest.raises(ControlBacklogFull):
        buffer.add_report({"n": 3})
    seq = buffer.assign_next(100)
    with pytest.raises(ControlBacklogFull):            # sent is not yet acknowledged
        buffer.add_report({"n": 3})
    buffer.ack(seq)
    buffer.add_report({"n": 3})
    # Results are never refused: the hub already counts on them.
    buffer.begin_command("cmd_1", now_ms() + 60_000)
    buffer.finish_command("cmd_1", "succeeded", {})
    assert buffer.pending_control == 4


@pytest.mark.parametrize("patch", [
    [1, 2],
    {"x": math.nan},
    {"blob": "x" * (16 * 1024)},
    {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {}}}}}}}}},
])
def test_a_report_the_hub_would_refuse_is_refused_before_it_is_buffered(tmp_path, patch):
    buffer = ReadingBuffer(tmp_path / "b.sqlite")
    with pytest.raises(ValueError):
        buffer.add_report(patch)
    assert buffer.pending_control == 0


def test_a_buffer_written_by_the_old_schema_opens_and_keeps_its_readings(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    buffer = ReadingBuffer(path)
    assert buffer.next_seq == 7 and buffer.desired_applied == 0
    assert buffer.assigned_seqs == [6] and buffer.unsent == 1 and buffer.buffered == 2
    assert message(buffer, 6)["readings"] == [{"ts": 1732200000000, "metrics": {"v": 0}}]
    buffer.add_report({"upgraded": True})
    assert buffer.assign_next(100) == 7 and buffer.assign_next(100) == 8
    assert buffer.begin_command("cmd_1", now_ms() + 60_000)
    buffer.close()
    with sqlite3.connect(path) as db:
        assert dict(db.execute("SELECT key, value FROM meta")) == {"next_seq": 9, "desired_applied": 0}
