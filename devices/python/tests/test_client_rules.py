"""The Python client against devices/client-rules.json, the table of rules it
shares with the Swift SDK (whose tests read the same file)."""
import json
import re
import sqlite3

from conftest import ROOT

from telehub_device import ReadingBuffer
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
    assert sorted(map(normalized, found)) == sorted(map(normalized, RULES["buffer"]["schema"]))
    assert meta == RULES["buffer"]["meta"]
