"""A database written by the row layout (`Tests/Fixtures/row-layout.sqlite.gz`,
made by the hub of commit bc0fae0) moves into chunks while the hub serves, in
steps that a `kill -9` at any point cannot break; and chunk sealing itself
survives `kill -9` loops."""
import pytest
import math
import random
import sqlite3
import sys
import time
from pathlib import Path

from conftest import batch, exported, get_json, open_device, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Fixtures"))
from row_layout_fixture import COUNT, DEVICES, METRICS, START, STEP_MS, expected, extract  # noqa: E402

# Every case here looks inside the SQLite file (its layout, locks, disk space).
pytestmark = pytest.mark.sqlite_only

SMALL_STEPS = ("--retention", "36500d", "--rollup-retention", "36500d", "--retention-step-rows", "300", "--retention-step-pause-ms", "40")


def fixture_hub(hub_factory, *args):
    hub = hub_factory(*SMALL_STEPS, *args)
    hub.workdir.mkdir(exist_ok=True)
    extract(hub.db)
    return hub


def old_layout_left(hub) -> bool:
    with sqlite3.connect(f"file:{hub.db}?mode=ro", uri=True, timeout=10) as db:
        return db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'reading'").fetchone()[0] == 1


def stored(hub):
    return {(device, metric, ts): value for device, metric, ts, value in exported(hub)}


def expect_hour_buckets(hub, values):
    """Each series' history in buckets of an hour or so equals its values aggregated: the rollups are exact."""
    reader = hub.read_token()
    end = START + COUNT * STEP_MS + 3_600_000
    for device in DEVICES:
        for metric in METRICS:
            points = sorted((ts, v) for (d, m, ts), v in values.items() if d == device and m == metric)
            answer = get_json(hub, f"/v1/devices/{device}/metrics/{metric}", reader,
                              params={"from": START, "to": end - 1, "points": 6})
            step = answer["step"]
            assert step >= 600_000, step  # from the rollups, not raw values
            origin = START // step * step
            buckets = {}
            for ts, v in points:
                b = buckets.setdefault((ts - origin) // step, [0.0, math.inf, -math.inf, 0])
                b[0] += v
                b[1], b[2], b[3] = min(b[1], v), max(b[2], v), b[3] + 1
            want = [[origin + k * step, s / c, lo, hi, c] for k, (s, lo, hi, c) in sorted(buckets.items())]
            got = answer["points"]
            assert [p[0] for p in got] == [w[0] for w in want], (device, metric)
            for g, w in zip(got, want):
                assert g[2:] == w[2:] and math.isclose(g[1], w[1], rel_tol=1e-9), (device, metric, g, w)


def test_a_row_layout_file_moves_to_chunks_while_the_hub_serves(hub_factory):
    hub = fixture_hub(hub_factory).start()
    values = expected()
    assert old_layout_left(hub)  # a few hundred values a step, 40 ms apart: still moving
    assert stored(hub) == values  # reads combine both layouts meanwhile
    # New readings meanwhile: one after the old ones, one overwriting an old value.
    with open_device(hub, hub.device_token("old-2")) as device:
        seq = device.hello["lastSeq"]
        assert seq == COUNT // 250 + 1  # the fixture's last message
        late, old = START + COUNT * STEP_MS + 5_000, START + 1_000 * STEP_MS
        device.expect_ack(batch(seq + 1, [{"ts": late, "metrics": {"temperature": 99.5}},
                                          {"ts": old, "metrics": {"humidity": -1.25}}]))
    values[("old-2", "temperature", late)] = 99.5
    values[("old-2", "humidity", old)] = -1.25
    wait_for(lambda: not old_layout_left(hub), timeout=120, interval=0.2, message="the old layout to be moved")
    assert stored(hub) == values
    expect_hour_buckets(hub, values)
    # And after a restart, on the new layout alone.
    hub.restart()
    assert stored(hub) == values


def test_kill_9_during_the_move_loses_and_duplicates_nothing(hub_factory):
    hub = fixture_hub(hub_factory, "--retention-step-rows", "1")  # an hour of one series a step
    rng = random.Random(9)
    kills = 0
    while True:
        hub.start()
        if not old_layout_left(hub):
            break
        time.sleep(rng.uniform(0.02, 0.4))
        hub.kill9()
        kills += 1
        assert kills < 60, "the move never finished"
    assert kills >= 3, kills  # it was killed in the middle, several times
    values = expected()
    assert stored(hub) == values
    expect_hour_buckets(hub, values)


def test_kill_9_while_chunks_seal_loses_nothing_acknowledged(hub):
    """Noisy values, hundreds a message: chunks seal every few messages while the hub is killed."""
    rng = random.Random(5)
    token = hub.device_token("sealer")
    acked = {}
    base = START
    seq = 0
    for _ in range(8):
        with open_device(hub, token) as device:
            assert device.hello["lastSeq"] == seq  # everything acknowledged before the kill is on disk
            for _ in range(rng.randint(3, 12)):
                seq += 1
                readings = [{"ts": base + (seq * 400 + i) * 1000, "metrics": {"v": round(rng.uniform(0, 100), 2)}}
                            for i in range(400)]
                device.expect_ack(batch(seq, readings))
                acked.update({r["ts"]: r["metrics"]["v"] for r in readings})
            # One more in flight as the hub dies: stored or not, never half.
            device.send(batch(seq + 1, [{"ts": base + ((seq + 1) * 400 + i) * 1000, "metrics": {"v": 1.5}} for i in range(400)]))
            time.sleep(rng.uniform(0, 0.02))
            hub.kill9()
        hub.start()
        values = {ts: v for (_, _, ts), v in stored(hub).items()}
        in_flight = {base + ((seq + 1) * 400 + i) * 1000 for i in range(400)}
        extra = set(values) - set(acked)
        assert extra in (set(), in_flight), len(extra)
        if extra:  # the message in flight was committed: it counts as sent
            seq += 1
            acked.update({ts: 1.5 for ts in in_flight})
        assert values == acked
    with sqlite3.connect(f"file:{hub.db}?mode=ro", uri=True) as db:
        sealed, chunks = db.execute("SELECT sum(sealed), count(*) FROM chunk").fetchone()
    assert sealed >= 5 and chunks - sealed <= 1, (sealed, chunks)
