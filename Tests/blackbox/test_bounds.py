"""The bounds of contract v1.1 ("Bounds on input") and the defects they close:
each input past its bound gets a clear answer, and the hub stays up."""
import json
import os
import sqlite3
import ssl
import stat
import subprocess
import time

import httpx
import pytest

from conftest import (
    BINARY, batch, bearer, get_json, now_ms, open_device, post_json, reading, stored_readings,
)

MAX_SEQ = 9007199254740991


def alive(hub):
    assert hub.proc.poll() is None, "the hub process died"
    assert httpx.get(f"{hub.url}/healthz", timeout=5).status_code == 200


# -- history and export queries

@pytest.mark.parametrize("query", [
    "to=-9223372036854775808",
    "from=-9223372036854775808",
    "to=9223372036854775807",
    "from=9223372036854775807&to=9223372036854775807",
    "from=-1",
    f"to={MAX_SEQ + 1}",
    "to=99999999999999999999999999",
    "from=10&to=5",
    "points=0",
    "points=-9223372036854775808",
    "points=1.5",
    "from=abc",
    "from=1&from=2",
    "from[x]=1",
])
def test_history_parameters_out_of_bounds_are_invalid_query(hub, query):
    reader = hub.read_token()
    for path in ("/v1/devices/x/metrics/y", "/v1/devices/nobody/metrics/none"):
        response = httpx.get(f"{hub.url}{path}?{query}", headers=bearer(reader), timeout=10)
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_query"
        assert response.json()["message"]
    alive(hub)


def test_history_at_the_extremes_of_its_bounds(hub):
    token, reader = hub.device_token("d"), hub.read_token()
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"t": 1.0}))
        device.expect_ack(reading(2, {"t": 2.0}, ts=now_ms() - 1000))
    # One point over nearly all of 2^53 ms: the planner jumps to a width that fits.
    for query in (f"from=900719954740991&to={MAX_SEQ}&points=1", f"from=1&to={MAX_SEQ}&points=1",
                  f"from=0&to={MAX_SEQ}&points=1", f"from=0&to={MAX_SEQ}&points=10000",
                  f"from={MAX_SEQ}&to={MAX_SEQ}", "from=0&to=0", "points=99999999"):
        body = get_json(hub, f"/v1/devices/d/metrics/t?{query}", reader)
        assert "step" in body and "points" in body
    alive(hub)


@pytest.mark.parametrize("query", ["from=-1", "to=9223372036854775808", "from=9&to=3", "format=xml", "device=bad name",
                                   "device=a&device=b"])
def test_export_parameters_out_of_bounds_are_invalid_query(hub, query):
    response = httpx.get(f"{hub.url}/v1/export.csv?{query}", headers=bearer(hub.read_token()), timeout=10)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_query"
    alive(hub)


def test_export_cli_refuses_out_of_bounds_times(hub):
    result = hub.cli("export", "--from", "-5", check=False)
    assert result.returncode != 0
    assert "from" in result.stderr and "Traceback" not in result.stderr


# -- values, seq and ping ids

def test_huge_values_are_refused_and_history_survives(hub):
    token, reader = hub.device_token("d"), hub.read_token()
    base = now_ms() // 3_600_000 * 3_600_000 - 3_600_000
    with open_device(hub, token) as device:
        for seq, (value, ts) in enumerate([(1e308, base), (1e308, base + 1), (-1e308, base + 60_000),
                                           (-1e308, base + 60_001)], start=1):
            reply = device.request(reading(seq, {"t": value}, ts=ts))
            assert reply["type"] == "error" and reply["code"] == "invalid_value", reply
            assert "metrics.t" in reply["message"] and reply["retryable"] is False
        for seq, (value, ts) in enumerate([(1e100, base), (1e100, base + 1), (-1e100, base + 60_000),
                                           (-1e100, base + 60_001)], start=5):
            device.expect_ack(reading(seq, {"t": value}, ts=ts))
        device.expect_ack(reading(9, {"other": 1}))
    body = get_json(hub, f"/v1/devices/d/metrics/t?from={base}&to={base + 3_599_999}&points=1", reader)
    assert body["step"] > 0
    [[start, avg, low, high, count]] = body["points"]
    assert (low, high, count) == (-1e100, 1e100, 4) and avg == 0
    alive(hub)


@pytest.mark.parametrize("seq", [0, -1, MAX_SEQ + 1, 9223372036854775807, 2**64, 1.5])
def test_seq_out_of_bounds_is_invalid_message(hub, seq):
    with open_device(hub, hub.device_token("d")) as device:
        reply = device.request(reading(seq, {"t": 1}))
        assert reply["type"] == "error" and reply["code"] == "invalid_message", reply
        device.expect_ack(reading(MAX_SEQ, {"t": 2}))
        assert device.request(reading(MAX_SEQ, {"t": 3})) == {"type": "ack", "seq": MAX_SEQ}
    alive(hub)


def test_ping_ids_are_bounded(hub):
    with open_device(hub, hub.device_token("d")) as device:
        longest = "x" * 128
        assert device.request({"type": "ping", "id": longest}) == {"type": "pong", "id": longest}
        assert device.request({"type": "ping", "id": 7}) == {"type": "pong", "id": 7}
        for bad in ("x" * 129, "x" * 1_000_000, {"nested": [1, 2]}, [1], True):
            reply = device.request({"type": "ping", "id": bad})
            assert reply["type"] == "error" and reply["code"] == "invalid_message", reply
            assert len(json.dumps(reply)) < 1000


# -- series per device

def test_max_series_refuses_new_metrics_but_keeps_known_ones(hub_factory):
    hub = hub_factory("--max-series", "3").start()
    token = hub.device_token("d")
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"a": 1, "b": 2}))
        reply = device.request(reading(2, {"a": 1, "c": 3, "d": 4}))
        assert reply["type"] == "error" and reply["code"] == "too_many_series" and reply["retryable"] is False, reply
        assert reply["seq"] == 2
        device.expect_ack(reading(3, {"a": 5, "b": 6, "c": 7}))
        reply = device.request(batch(4, [{"metrics": {"a": 1}}, {"metrics": {"z": 1}}]))
        assert reply["code"] == "too_many_series"
        device.expect_ack(reading(5, {"c": 8}))
    stored = stored_readings(hub, "d")
    assert {metric for metric, _ in stored} == {"a", "b", "c"}
    # A second device has its own budget.
    with open_device(hub, hub.device_token("e")) as other:
        other.expect_ack(reading(1, {"x": 1, "y": 2, "z": 3}))
    # After a restart the budget is read from the store.
    hub.restart()
    with open_device(hub, token) as device:
        assert device.request(reading(6, {"q": 1}))["code"] == "too_many_series"
        device.expect_ack(reading(7, {"b": 1}))


def test_max_series_over_http(hub_factory):
    hub = hub_factory(env={"TELEHUB_MAX_SERIES": "1"}).start()
    token = hub.device_token("d")
    assert post_json(hub, "/v1/ingest", token, reading(1, {"a": 1})).status_code == 200
    response = post_json(hub, "/v1/ingest", token, reading(2, {"b": 1}))
    assert response.status_code == 400 and response.json()["code"] == "too_many_series"


# -- deleting and re-creating a device

def test_recreated_device_starts_afresh_and_its_readings_are_stored(hub):
    with open_device(hub, hub.device_token("d")) as device:
        for seq in (1, 2, 3):
            device.expect_ack(reading(seq, {"t": seq}))
    hub.cli("device", "delete", "d", "--yes")
    token = hub.device_token("d")
    with open_device(hub, token) as device:
        assert device.hello["lastSeq"] == 0
        ts = now_ms()
        device.expect_ack(reading(1, {"t": 42}, ts=ts))
    assert stored_readings(hub, "d") == {("t", ts): 42}
    rows = hub.cli("device", "list", "--json").stdout
    assert json.loads(rows)[0]["lastSeq"] == 1


@pytest.mark.sqlite_only
def test_deleted_device_ids_are_not_reused(hub):
    hub.device_token("a")
    hub.device_token("b")
    with sqlite3.connect(hub.db) as db:
        [(b_id,)] = db.execute("SELECT id FROM device WHERE name = 'b'").fetchall()
    hub.cli("device", "delete", "b", "--yes")
    hub.device_token("c")
    with sqlite3.connect(hub.db) as db:
        [(c_id,)] = db.execute("SELECT id FROM device WHERE name = 'c'").fetchall()
    assert c_id > b_id


@pytest.mark.sqlite_only
def test_device_deleted_while_connected_leaves_no_rows(hub_factory):
    # A long flush interval keeps the second message queued while the device is deleted.
    hub = hub_factory("--flush-interval-ms", "4000").start()
    token = hub.device_token("d")
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"t": 1}))
        device.send(reading(2, {"t": 2}))
        sent = time.monotonic()
        hub.cli("device", "delete", "d", "--yes")
        replies = []
        try:
            while True:
                replies.append(device.recv(timeout=8))
        except Exception:
            pass  # the session is closed (its token is gone)
        assert {"type": "ack", "seq": 2} not in replies, replies
    time.sleep(max(0.0, sent + 5.0 - time.monotonic()))  # past the flush that held message 2
    with sqlite3.connect(hub.db) as db:
        for table in ("chunk", "latest", "rollup"):
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


# -- the CLI

@pytest.mark.parametrize("span", ["9223372036854775s", "106752d", "36501d", "0d", "-5d", "5y"])
def test_token_expiry_out_of_bounds_is_a_clear_error(hub, span):
    result = hub.cli("token", "create", "--device", "x", "--expires", span, check=False)
    assert result.returncode != 0
    assert "--expires" in result.stderr
    assert "Fatal error" not in result.stderr and "backtrace" not in result.stderr.lower()
    assert result.stdout == ""


def test_longest_token_expiry_works(hub):
    assert hub.cli("token", "create", "--read", "--expires", "36500d").stdout.startswith("thr_")


# -- files that are not Telehub databases

def sha(path):
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["foreign", "text", "corrupt"])
def test_a_file_that_is_not_a_telehub_database_is_refused_untouched(tmp_path, kind):
    path = tmp_path / "other.sqlite"
    if kind == "foreign":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
            db.execute("INSERT INTO invoices (total) VALUES (12.5)")
    elif kind == "text":
        path.write_text("these are my notes, not a database\n" * 100)
    else:
        subprocess.run([str(BINARY), "token", "create", "--read", "--db", str(path)], check=True,
                       capture_output=True, timeout=60)
        data = bytearray(path.read_bytes())
        data[100:4096] = b"\xff" * (4096 - 100)  # the schema page
        path.write_bytes(bytes(data))
    before = sha(path)
    for args in (["token", "list"], ["device", "list"], ["token", "create", "--read"], ["serve", "--port", "0"]):
        result = subprocess.run([str(BINARY), *args, "--db", str(path)], capture_output=True, text=True, timeout=60)
        assert result.returncode != 0, (args, result.stdout)
        assert str(path) in result.stderr, result.stderr
        assert "Telehub database" in result.stderr or "cannot open" in result.stderr, result.stderr
    assert sha(path) == before


# -- files, TLS and /metrics

@pytest.mark.sqlite_only
def test_database_and_backup_are_readable_by_their_owner_only(hub, tmp_path):
    with open_device(hub, hub.device_token("d")) as device:
        device.expect_ack(reading(1, {"t": 1}))
    backup = tmp_path / "copy.sqlite"
    hub.cli("backup", str(backup))
    for path in (hub.db, backup, hub.db.parent / (hub.db.name + "-wal")):
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))


def test_tls_below_1_2_is_refused(tls_hub_factory):
    hub = tls_hub_factory().start()
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(str(hub.cert))
    old.set_ciphers("ALL:@SECLEVEL=0")
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises((httpx.HTTPError, ssl.SSLError)):
        httpx.get(f"{hub.url}/healthz", verify=old, timeout=5)
    modern = ssl.create_default_context(cafile=str(hub.cert))
    modern.minimum_version = modern.maximum_version = ssl.TLSVersion.TLSv1_2
    assert httpx.get(f"{hub.url}/healthz", verify=modern, timeout=5).status_code == 200


def test_metrics_need_a_read_token_off_loopback(hub_factory):
    hub = hub_factory("--host", "0.0.0.0").start()
    assert httpx.get(f"{hub.url}/metrics", timeout=5).status_code == 401
    assert httpx.get(f"{hub.url}/metrics", headers=bearer(hub.device_token("d")), timeout=5).status_code == 401
    response = httpx.get(f"{hub.url}/metrics", headers=bearer(hub.read_token()), timeout=5)
    assert response.status_code == 200 and "telehub_" in response.text


def test_metrics_are_open_on_loopback(hub):
    assert httpx.get(f"{hub.url}/metrics", timeout=5).status_code == 200



@pytest.mark.parametrize("args, env", [
    (["--max-message-bytes=-5"], {}),
    (["--heartbeat-seconds", "0"], {}),
    (["--max-series", "0"], {}),
    ([], {"TELEHUB_FLUSH_VALUES": "-3"}),
    ([], {"TELEHUB_QUEUE_VALUES": "0"}),
    ([], {"TELEHUB_KEEPALIVE_SECONDS": "0"}),
])
def test_serve_refuses_settings_out_of_range(tmp_path, args, env):
    result = subprocess.run([str(BINARY), "serve", "--db", str(tmp_path / "t.sqlite"), "--port", "0", *args],
                            capture_output=True, text=True, timeout=30, env={**os.environ, **env})
    assert result.returncode != 0
    assert "must be between" in result.stderr, result.stderr
    assert "Fatal error" not in result.stderr


@pytest.mark.parametrize("args", [
    ["simulate", "--devices", "5", "--rate", "inf"],
    ["simulate", "--devices", "5", "--rate", "nan"],
    ["simulate", "--devices", "0"],
    ["simulate", "--devices", "5", "--duration", "1e300"],
    ["simulate", "--devices", "5", "--backoff-cap=-1"],
    ["bench", "--days", "0"],
    ["bench", "--buckets", "99999999999"],
    ["token", "create", "--read", "--label", "x" * 201],
])
def test_cli_numbers_out_of_range_are_clear_errors(tmp_path, args):
    db = [] if args[0] == "bench" else ["--db", str(tmp_path / "t.sqlite")]
    result = subprocess.run([str(BINARY), *args, *db], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert result.stderr.startswith("Error:"), result.stderr
    assert "must be between" in result.stderr or "longer than" in result.stderr, result.stderr
    assert "Fatal error" not in result.stderr


def test_invalid_utf8_over_http_is_invalid_json(hub):
    token = hub.device_token("d")
    body = b'{"type":"ping","id":"ab\xff\xfe"}'
    response = post_json(hub, "/v1/ingest", token, body)
    assert response.status_code == 400 and response.json()["code"] == "invalid_json", response.text
    body = b'{"type":"reading","seq":1,"metrics":{"t\xc3":1}}'
    assert post_json(hub, "/v1/ingest", token, body).json()["code"] == "invalid_json"
