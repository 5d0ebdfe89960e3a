"""The InfluxDB door (contract v1.2): line protocol through /write and
/api/v2/write, written by clients nobody here wrote: the InfluxDB client
libraries from PyPI (`influxdb-client` for 2.x, `influxdb` for 1.x, the ones
Home Assistant uses) and Debian's `influx` CLI."""
import gzip
import shutil
import subprocess

import httpx
import pytest

from conftest import bearer, now_ms, stored_readings

influxdb_client = pytest.importorskip("influxdb_client")
influxdb = pytest.importorskip("influxdb")
from influxdb_client.client.write_api import SYNCHRONOUS  # noqa: E402

NS_PER_MS = 1_000_000


def write(hub, body, token=None, path="/write", params=None, headers=None):
    headers = {**({"Authorization": f"Token {token}"} if token else {}), **(headers or {})}
    return httpx.post(f"{hub.url}{path}", params=params or {}, content=body, headers=headers, timeout=10)


# ---------------------------------------------------------------------------
# The client libraries


def test_influxdb_client_2x_writes_gzip_at_every_precision(hub):
    per_ms = {"ns": 1_000_000, "us": 1000, "ms": 1}
    for index, precision in enumerate(["ns", "us", "ms", "s"]):
        device = f"telegraf-{precision}"
        token = hub.device_token(device)
        base_ms = (now_ms() - 60_000 * (index + 1)) // 1000 * 1000  # whole seconds, so "s" loses nothing
        points = [
            influxdb_client.Point("cpu").tag("cpu", "cpu0").tag("host", "box").field("usage_idle", 93.5).field("n", 3)
            .field("label", "not stored").time(base_ms * per_ms[precision] if precision != "s" else base_ms // 1000, precision),
            influxdb_client.Point("mem").field("used_percent", 41.25).field("ok", True)
            .time((base_ms + 1000) * per_ms[precision] if precision != "s" else base_ms // 1000 + 1, precision),
        ]
        with influxdb_client.InfluxDBClient(url=hub.url, token=token, org="home", enable_gzip=True) as client:
            client.write_api(write_options=SYNCHRONOUS).write(bucket="sensors", record=points, write_precision=precision)
        assert stored_readings(hub, device) == {
            ("cpu.cpu0.box.usage_idle", base_ms): 93.5, ("cpu.cpu0.box.n", base_ms): 3,
            ("mem.used_percent", base_ms + 1000): 41.25, ("mem.ok", base_ms + 1000): 1,
        }, precision


def test_influxdb_1x_client_writes_as_home_assistant_does(hub):
    """Home Assistant's InfluxDB integration (1.x): the password is the device
    token, `write_points([])` at start to test it, then JSON points; every
    precision the 1.x API names."""
    for index, precision in enumerate(["n", "u", "ms", "s", "m", "h"]):
        device = f"homeassistant-{index}"
        token = hub.device_token(device)
        client = influxdb.InfluxDBClient(
            host="127.0.0.1", port=hub.port, username="homeassistant", password=token, database="home_assistant", gzip=True)
        assert client.ping() == "1.8.10"
        client.create_database("home_assistant")
        assert {"name": "telehub"} in client.get_list_database()
        assert client.write_points([]) is True
        unit_ms = {"n": 1e-6, "u": 1e-3, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}[precision]
        ts_ms = (now_ms() - 7_200_000) // 3_600_000 * 3_600_000  # on the hour, so every precision holds it
        point = {
            "measurement": "°C", "tags": {"entity_id": "living_room", "domain": "sensor"},
            "time": int(ts_ms / unit_ms), "fields": {"value": 21.5, "state": "21.5"},
        }
        assert client.write_points([point], time_precision=precision) is True
        assert stored_readings(hub, device) == {("__C.sensor.living_room.value", ts_ms): 21.5}, precision


def test_influxdb_1x_client_with_the_password_as_a_parameter(hub):
    token = hub.device_token("old")
    ts = now_ms() - 1000
    response = httpx.post(f"{hub.url}/write", params={"db": "x", "u": "anyone", "p": token, "precision": "ms"},
                          content=f"room temp=20 {ts}")
    assert response.status_code == 204, response.text
    assert stored_readings(hub, "old") == {("room.temp", ts): 20}


@pytest.mark.skipif(shutil.which("influx") is None, reason="Debian's influx CLI (package influxdb-client) is missing")
def test_influx_cli_imports_a_file(hub, tmp_path):
    token = hub.device_token("importer")
    t0 = (now_ms() - 600_000) // 1000
    lines = [f"weather,location=us-midwest temperature={20 + i / 2},humidity={40 + i}i {t0 + i}" for i in range(250)]
    export = tmp_path / "export.txt"
    export.write_text("# DDL\nCREATE DATABASE weather\n# DML\n# CONTEXT-DATABASE: weather\n" + "\n".join(lines) + "\n")
    result = subprocess.run(
        ["influx", "-host", "127.0.0.1", "-port", str(hub.port), "-username", "importer", "-password", token,
         "-import", "-path", str(export), "-precision", "s"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Processed 250 inserts" in result.stdout and "Failed 0 inserts" in result.stdout
    stored = stored_readings(hub, "importer")
    assert len(stored) == 500
    assert stored[("weather.us-midwest.temperature", (t0 + 3) * 1000)] == 21.5
    assert stored[("weather.us-midwest.humidity", (t0 + 249) * 1000)] == 289


# ---------------------------------------------------------------------------
# The contract's answers, byte by byte


def test_ping_answers_204_with_a_version_to_get_and_head(hub):
    for method in ("GET", "HEAD"):
        response = httpx.request(method, f"{hub.url}/ping")
        assert response.status_code == 204
        assert response.headers["X-Influxdb-Version"]


def test_every_credential_form_and_none(hub):
    token = hub.device_token("creds")
    ts = now_ms() - 5000
    forms = [
        ({"Authorization": f"Token {token}"}, {}), ({"Authorization": f"Bearer {token}"}, {}),
        ({}, {"u": "x", "p": token}), ({}, {"token": token}),
    ]
    for index, (headers, params) in enumerate(forms):
        response = httpx.post(f"{hub.url}/api/v2/write", params={"precision": "ms", **params}, headers=headers,
                              content=f"m v={index} {ts + index}")
        assert response.status_code == 204, (index, response.text)
    basic = httpx.post(f"{hub.url}/write?precision=ms", auth=("anyone", token), content=f"m v=9 {ts + 9}")
    assert basic.status_code == 204
    assert len(stored_readings(hub, "creds")) == 5
    for headers in ({}, {"Authorization": "Token thd_wrong"}, {"Authorization": f"Token {hub.read_token()}"}):
        refused = httpx.post(f"{hub.url}/write", headers=headers, content="m v=1")
        assert refused.status_code == 401
        assert refused.json()["code"] == "unauthorized"


def test_a_bad_line_refuses_the_whole_body_naming_the_line(hub):
    token = hub.device_token("strict")
    response = write(hub, "m v=1\nm v=2\nm v=oops\nm v=4\n", token)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert body["message"].startswith("line 3: ")
    assert stored_readings(hub, "strict") == {}


def test_bounds_of_ingest_hold_for_the_door(hub_factory):
    hub = hub_factory("--max-batch", "10", "--max-series", "5", "--max-message-bytes", "4096",
                      "--rate-limit", "20", "--rate-burst", "20").start()
    token = hub.device_token("bounded")
    eleven = "\n".join(f"m v={i}" for i in range(11))
    too_many = write(hub, eleven, token)
    assert too_many.status_code == 413 and too_many.json()["message"].startswith("line 11: ")
    wide = write(hub, "m " + ",".join(f"f{i}=1" for i in range(300)), token)
    assert wide.status_code == 413 and wide.json()["message"].startswith("line 1: 300 fields"), wide.text
    series = write(hub, "m a=1,b=2,c=3,d=4,e=5,f=6", token)
    assert series.status_code == 413, series.text
    big = write(hub, "m v=1 " + " " * 5000, token)
    assert big.status_code == 413
    bomb = gzip.compress(b"#" * 100_000)
    inflated = write(hub, bomb, token, headers={"Content-Encoding": "gzip"})
    assert inflated.status_code == 413 and inflated.json()["code"] == "request too large"
    broken = write(hub, b"\x1f\x8bnot gzip", token, headers={"Content-Encoding": "gzip"})
    assert broken.status_code == 400
    assert write(hub, "m v=1", token, headers={"Content-Encoding": "br"}).status_code == 415
    assert write(hub, "m v=1", token, params={"precision": "d"}).status_code == 400
    assert stored_readings(hub, "bounded") == {}
    # The rate limit: 20 readings at once, then 429 with Retry-After.
    ten = "\n".join(f"m v={i}" for i in range(10))
    statuses = [write(hub, ten, token) for _ in range(4)]
    assert [r.status_code for r in statuses[:2]] == [204, 204]
    limited = next(r for r in statuses if r.status_code != 204)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["code"] == "too many requests"


def test_no_timestamp_takes_the_receive_time_and_strings_are_skipped(hub):
    token = hub.device_token("clockless")
    before = now_ms()
    assert write(hub, 'door,room=hall open=true,who="ana"', token).status_code == 204
    after = now_ms()
    [(metric, ts)] = stored_readings(hub, "clockless").keys()
    assert metric == "door.hall.open" and before <= ts <= after


def test_query_answers_the_start_up_statements_only(hub):
    token = hub.device_token("q")
    created = httpx.post(f"{hub.url}/query", params={"q": 'CREATE DATABASE "telegraf"'}, headers=bearer(token))
    assert created.status_code == 200 and created.json() == {"results": [{"statement_id": 0}]}
    shown = httpx.post(f"{hub.url}/query", data={"q": "SHOW DATABASES;"}, headers=bearer(token))
    assert shown.json() == {"results": [{"statement_id": 0, "series": [
        {"name": "databases", "columns": ["name"], "values": [["telehub"]]}]}]}
    refused = httpx.get(f"{hub.url}/query", params={"q": "SELECT * FROM cpu"}, headers=bearer(token))
    assert refused.status_code == 400 and "SELECT" in refused.json()["error"]
    assert httpx.get(f"{hub.url}/query", params={"q": "SHOW DATABASES"}).status_code == 401


def test_get_on_write_is_405(hub):
    assert httpx.get(f"{hub.url}/write").status_code == 405
    assert httpx.get(f"{hub.url}/api/v2/write").status_code == 405


def test_door_values_reach_the_live_stream_and_acks_follow_the_commit(hub):
    """204 means committed: the value is readable the moment the answer arrives."""
    token, reader = hub.device_token("live"), hub.read_token()
    for index in range(5):
        ts = now_ms() - 100 + index
        assert write(hub, f"t v={index} {ts}", token, params={"precision": "ms"}).status_code == 204
        status = httpx.get(f"{hub.url}/v1/devices/live", headers=bearer(reader)).json()
        assert status["metrics"]["t.v"] == {"ts": ts, "value": index}


# ---------------------------------------------------------------------------
# Answer order on one keep-alive connection


def pipelined(hub, requests, timeout=10.0):
    """Sends raw HTTP/1.1 requests back to back on one socket, then reads
    one answer per request, in order: (status, headers, body) each."""
    import socket

    sock = socket.create_connection(("127.0.0.1", hub.port), timeout=timeout)
    try:
        sock.sendall(b"".join(requests))
        buffered = b""
        answers = []
        while len(answers) < len(requests):
            while b"\r\n\r\n" not in buffered:
                chunk = sock.recv(65536)
                assert chunk, f"connection closed after {len(answers)} answers"
                buffered += chunk
            head, buffered = buffered.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            status = int(lines[0].split()[1])
            headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            while len(buffered) < length:
                chunk = sock.recv(65536)
                assert chunk
                buffered += chunk
            answers.append((status, headers, buffered[:length]))
            buffered = buffered[length:]
        return answers
    finally:
        sock.close()


def raw_post(path, body, token=None, extra=b""):
    auth = f"Authorization: Token {token}\r\n".encode() if token else b""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n".encode()
            + auth + extra + b"\r\n" + body)


def raw_get(path, token=None):
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + auth + b"\r\n"


def test_pipelined_writes_and_other_requests_are_answered_in_order(hub):
    """Writes and the API's other requests sent back to back on one
    connection get their answers in the order they were sent, whatever
    answers each: good writes, a wrong token, a bad body, reads between them."""
    token = hub.device_token("pipelined")
    reader = hub.read_token()
    t0 = now_ms() - 60_000
    requests = [
        raw_post("/write?precision=ms", f"m v=1 {t0}".encode(), token),
        raw_get("/healthz"),
        raw_post("/write?precision=ms", f"m v=2 {t0 + 1}".encode(), "thd_wrong"),
        raw_post("/write?precision=ms", f"m v=3 {t0 + 2}".encode(), token),
        raw_post("/write?precision=ms", b"m v=not-a-number", token),
        raw_get("/v1/devices/pipelined", reader),
        raw_post("/api/v2/write?precision=ms", f"m v=4 {t0 + 3}".encode(), token),
        raw_post("/write?precision=ms", f"m v=5 {t0 + 4}".encode(), token),
    ]
    answers = pipelined(hub, requests)
    assert [status for status, _, _ in answers] == [204, 200, 401, 204, 400, 200, 204, 204]
    assert b"not a number" in answers[4][2]
    assert all("date" in headers and headers.get("server") == "telehub" for _, headers, _ in answers)
    assert stored_readings(hub, "pipelined") == {("m.v", t0): 1, ("m.v", t0 + 2): 3, ("m.v", t0 + 3): 4, ("m.v", t0 + 4): 5}


def test_many_pipelined_writes_on_one_connection_are_each_answered_and_stored(hub):
    token = hub.device_token("burst")
    t0 = now_ms() - 120_000
    requests = [raw_post("/write?precision=ms", f"m v={i} {t0 + i}".encode(), token) for i in range(200)]
    answers = pipelined(hub, requests)
    assert [status for status, _, _ in answers] == [204] * 200
    assert len(stored_readings(hub, "burst")) == 200
