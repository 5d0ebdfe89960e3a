"""The offline buffer on its own: no sockets, no hub."""
import json
import math

import pytest

from telehub_device import ReadingBuffer

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
