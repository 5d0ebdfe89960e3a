"""Alerts from the outside (contract v1.1, "Alerts"): rules made with the CLI
while the hub runs, evaluated on committed readings, told to a real local
webhook receiver, on the stream, in `GET /v1/alerts`, in `alert history`."""
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import event_stream, get_json, metric_value, now_ms, open_device, reading, scrape, wait_for


class Receiver:
    """A webhook receiver on loopback: records every request; answers with
    the statuses queued in `answers` (then 200), or hangs when told to."""

    def __init__(self):
        self.requests = []
        self.answers = []
        self.hang = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    status = receiver.answers.pop(0) if receiver.answers else 200
                if receiver.hang.is_set():
                    time.sleep(30)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def bodies(self):
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.hang.clear()
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def create(hub, *args):
    """`telehub alert create`, then the time a running hub takes to read the rule (it looks every 250 ms)."""
    result = hub.cli("alert", "create", *args)
    time.sleep(0.6)
    return result


def history(hub):
    return json.loads(hub.cli("alert", "history", "--json").stdout)


def deliveries(hub):
    return [entry for entry in history(hub) if entry["kind"] == "delivery"]


def test_threshold_fires_and_resolves_with_hysteresis_to_webhook_stream_and_api(hub, receiver):
    token, reader = hub.device_token("cold-room"), hub.read_token()
    create(hub, "--name", "cold-room-warm", "--device", "cold-room", "--metric", "temperature", "--above", "8",
           "--clear-below", "7.5", "--severity", "critical", "--webhook", receiver.url, "--secret", "s3cret")
    ts = now_ms() - 10_000
    with event_stream(hub, reader) as stream:
        snapshot = stream.next_of("snapshot")
        assert [a["name"] for a in json.loads(snapshot.data)["alerts"]] == ["cold-room-warm"]
        with open_device(hub, token) as device:
            for seq, value in enumerate([7.0, 8.4, 7.9, 7.6, 7.4], start=1):
                device.expect_ack(reading(seq, {"temperature": value}, ts=ts + seq))
        fired = json.loads(stream.next_of("alert").data)
        resolved = json.loads(stream.next_of("alert").data)
    assert (fired["state"], fired["value"], fired["device"], fired["ts"]) == ("firing", 8.4, "cold-room", ts + 2)
    assert (resolved["state"], resolved["value"], resolved["ts"]) == ("resolved", 7.4, ts + 5)

    wait_for(lambda: len(receiver.requests) == 2, message="two webhook calls")
    first, second = receiver.requests
    body = json.loads(first["body"])
    assert body["status"] == "firing" and body["value"] == 8.4 and body["startsAt"] == ts + 2
    assert body["alert"]["name"] == "cold-room-warm" and body["alert"]["severity"] == "critical"
    assert body["alert"]["condition"] == "above 8, clears below 7.5"
    ended = json.loads(second["body"])
    assert (ended["status"], ended["endsAt"], ended["startsAt"]) == ("resolved", ts + 5, ts + 2)
    assert first["headers"]["Content-Type"] == "application/json"
    assert first["headers"]["Idempotency-Key"] != second["headers"]["Idempotency-Key"]
    expected = hmac.new(b"s3cret", first["body"], hashlib.sha256).hexdigest()
    assert first["headers"]["X-Telehub-Signature"] == f"sha256={expected}"

    alerts = get_json(hub, "/v1/alerts", reader)["alerts"]
    assert [(a["name"], a["device"], a["state"], a["value"]) for a in alerts] == [("cold-room-warm", "cold-room", "ok", 7.4)]
    kinds = [(e["kind"], e.get("state") or e.get("status")) for e in history(hub)]
    assert kinds.count(("transition", "firing")) == 1 and kinds.count(("transition", "resolved")) == 1
    wait_for(lambda: [e["status"] for e in deliveries(hub)] == ["delivered", "delivered"],
             message="deliveries recorded as delivered")

    def metrics_settled():
        samples = scrape(hub)
        return (metric_value(samples, "telehub_alert_deliveries_total", outcome="delivered") == 2
                and metric_value(samples, "telehub_alert_transitions_total") == 2
                and metric_value(samples, "telehub_alert_states", state="ok") == 1
                and metric_value(samples, "telehub_alert_states", state="firing") == 0
                and metric_value(samples, "telehub_alert_deliveries_pending") == 0)
    wait_for(metrics_settled, timeout=6, message="/metrics shows the transitions, deliveries and states")


def test_for_ignores_a_short_spike_and_fires_when_it_holds(hub, receiver):
    token = hub.device_token("oven")
    create(hub, "--name", "oven-hot", "--device", "*", "--metric", "t", "--above", "100", "--for", "60s",
           "--webhook", receiver.url)
    ts = now_ms() - 600_000
    with open_device(hub, token) as device:
        values = [(0, 150), (30_000, 150), (40_000, 90), (100_000, 150), (130_000, 160)]
        for seq, (offset, value) in enumerate(values, start=1):
            device.expect_ack(reading(seq, {"t": value}, ts=ts + offset))
        time.sleep(0.5)
        assert receiver.requests == []  # 0–30 s was broken at 40 s; 100–130 s is only 30 s
        device.expect_ack(reading(6, {"t": 155}, ts=ts + 160_000))
    wait_for(lambda: len(receiver.requests) == 1, message="one webhook call")
    body = receiver.bodies()[0]
    assert body["status"] == "firing" and body["ts"] == ts + 160_000 and body["alert"]["device"] == "oven"


def test_offline_alarm_fires_within_a_second_and_resolves_when_the_device_sends(hub, receiver):
    token = hub.device_token("meter")
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"kwh": 1.0}))
    last = now_ms()
    create(hub, "--name", "meter-silent", "--device", "meter", "--offline", "2s", "--webhook", receiver.url)
    wait_for(lambda: len(receiver.requests) == 1, timeout=6, message="offline webhook")
    noticed = now_ms()
    body = receiver.bodies()[0]
    assert body["status"] == "firing" and body["value"] is None
    assert last + 2000 - 200 <= body["ts"] <= last + 2000 + 200
    assert noticed - (last + 2000) < 1500, "fired later than a second after its time"
    with open_device(hub, token) as device:
        device.expect_ack(reading(2, {"kwh": 2.0}))
    wait_for(lambda: len(receiver.requests) == 2, message="resolved webhook")
    assert receiver.bodies()[1]["status"] == "resolved"


def test_retries_until_delivered_across_a_kill_with_one_idempotency_key(hub, receiver):
    token = hub.device_token("tank")
    receiver.answers = [503, 500]
    create(hub, "--name", "tank-low", "--device", "tank", "--metric", "level", "--below", "10", "--webhook", receiver.url)
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"level": 5}))
    wait_for(lambda: len(receiver.requests) >= 1, message="first attempt")
    hub.kill9()  # the delivery is owed: it is in the database, not in memory
    hub.start()
    wait_for(lambda: len(receiver.requests) >= 3, timeout=15, message="attempts until 200")
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    assert len(keys) == 1
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1  # the same bytes every time (what a signature covers)
    wait_for(lambda: [e["status"] for e in deliveries(hub)] == ["delivered"],
             message="delivered after retries")
    attempts = deliveries(hub)[0]["attempts"]
    # An attempt the kill cut off before its answer was recorded is sent again and not counted.
    assert 2 <= attempts <= len(receiver.requests)


def test_a_4xx_is_dead_lettered_and_redelivered(hub, receiver):
    token = hub.device_token("door")
    receiver.answers = [410]
    create(hub, "--name", "door-open", "--device", "door", "--metric", "open", "--above", "0", "--webhook", receiver.url)
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"open": 1}))
    wait_for(lambda: [e["status"] for e in deliveries(hub)] == ["dead"], message="dead letter")
    dead = deliveries(hub)[0]
    assert dead["lastError"] == "HTTP 410" and dead["attempts"] == 1
    assert metric_value(scrape(hub), "telehub_alert_deliveries_total", outcome="dead") == 1
    assert len(receiver.requests) == 1
    hub.cli("alert", "redeliver", str(dead["id"]))
    wait_for(lambda: [e["status"] for e in deliveries(hub)] == ["delivered"], message="redelivered")
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]
    refused = hub.cli("alert", "redeliver", str(dead["id"]), check=False)
    assert refused.returncode != 0 and "no dead-lettered delivery" in refused.stderr


def test_a_hanging_receiver_does_not_slow_ingest(hub, receiver):
    token = hub.device_token("fast")
    ts = now_ms() - 1_000_000

    def ack_latencies(first_seq, n=40):
        latencies = []
        with open_device(hub, token) as device:
            for i in range(n):
                value = 1 if i % 2 == 0 else 0  # fires and resolves every other reading
                started = time.monotonic()
                device.expect_ack(reading(first_seq + i, {"x": value}, ts=ts + first_seq + i))
                latencies.append(time.monotonic() - started)
        return sorted(latencies)[len(latencies) // 2]

    before = ack_latencies(1)
    receiver.hang.set()
    create(hub, "--name", "flappy", "--device", "fast", "--metric", "x", "--above", "0.5", "--webhook", receiver.url)
    during = ack_latencies(100)
    assert len(receiver.requests) >= 1, "the receiver was called"
    assert during < max(0.05, before * 5), f"median ack {during * 1000:.1f} ms with a hanging receiver, {before * 1000:.1f} ms without"


def test_rule_bounds_and_errors_from_the_cli(hub):
    bad = [
        ["--name", "x", "--device", "d", "--metric", "m"],  # no condition
        ["--name", "x", "--device", "d", "--metric", "m", "--above", "1", "--below", "0"],
        ["--name", "x", "--device", "d", "--metric", "m", "--above", "8", "--clear-below", "9"],
        ["--name", "x", "--device", "d", "--metric", "m", "--above", "8", "--for", "forever"],
        ["--name", "x", "--device", "d", "--metric", "m", "--above", "nan"],
        ["--name", "x" * 65, "--device", "d", "--metric", "m", "--above", "1"],
        ["--name", "x", "--device", "d", "--metric", "m", "--above", "1", "--webhook", "file:///etc/passwd"],
        ["--name", "x", "--device", "d", "--offline", "8d"],
        ["--name", "x", "--device", "d", "--metric", "m", "--above", "1", "--severity", "meh"],
    ]
    for args in bad:
        result = hub.cli("alert", "create", *args, check=False)
        assert result.returncode != 0, args
        assert result.stderr.strip(), args
    create(hub, "--name", "dup", "--device", "d", "--metric", "m", "--above", "1")
    again = hub.cli("alert", "create", "--name", "dup", "--device", "d", "--metric", "m", "--above", "1", check=False)
    assert again.returncode != 0 and "exists already" in again.stderr
    listed = json.loads(hub.cli("alert", "list", "--json").stdout)
    assert [(a["name"], a["condition"], a["state"]) for a in listed] == [("dup", "above 1", "ok")]
    hub.cli("alert", "delete", str(listed[0]["id"]))
    assert json.loads(hub.cli("alert", "list", "--json").stdout) == []
    assert hub.cli("alert", "delete", "999", check=False).returncode != 0


def test_metric_display_bounds_and_devices_answer(hub):
    reader, token = hub.read_token(), hub.device_token("greenhouse")
    for args in (["--unit", "x" * 17], ["--label", "y" * 65], ["--unit", "bad\u0007"], []):
        result = hub.cli("metric", "set", "--device", "greenhouse", "--metric", "t", *args, check=False)
        assert result.returncode != 0 and result.stderr.strip(), args
    assert hub.cli("metric", "set", "--device", "bad name", "--metric", "t", "--unit", "C", check=False).returncode != 0
    hub.cli("metric", "set", "--device", "*", "--metric", "t", "--unit", "°C", "--label", "Air")
    hub.cli("metric", "set", "--device", "greenhouse", "--metric", "t", "--label", "Greenhouse air")
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"t": 21.5, "h": 40}))
    metrics = get_json(hub, "/v1/devices/greenhouse", reader)["metrics"]
    # The device's own label wins; the unit comes from the '*' setting; a metric without settings has neither key.
    assert metrics["t"]["unit"] == "°C" and metrics["t"]["label"] == "Greenhouse air"
    assert set(metrics["h"]) == {"ts", "value"}
    hub.cli("metric", "set", "--device", "*", "--metric", "t", "--unit", "")
    assert "unit" not in get_json(hub, "/v1/devices/greenhouse", reader)["metrics"]["t"]
    listed = json.loads(hub.cli("metric", "list", "--json").stdout)
    assert {(m.get("device"), m["metric"], m.get("unit"), m.get("label")) for m in listed} == {
        (None, "t", None, "Air"), ("greenhouse", "t", None, "Greenhouse air")}


def test_a_pending_for_survives_a_kill_and_fires_on_time(hub, receiver):
    token = hub.device_token("freezer")
    create(hub, "--name", "freezer-warm", "--device", "freezer", "--metric", "t", "--above", "-15", "--for", "60s",
           "--webhook", receiver.url)
    t0 = now_ms() - 600_000
    with open_device(hub, token) as device:
        device.expect_ack(reading(1, {"t": -12}, ts=t0))
        device.expect_ack(reading(2, {"t": -11}, ts=t0 + 30_000))
    hub.kill9()
    hub.start()
    time.sleep(0.6)
    with open_device(hub, token) as device:
        device.expect_ack(reading(3, {"t": -10}, ts=t0 + 61_000))
    wait_for(lambda: len(receiver.requests) == 1, message="fired after the restart, counting the run from before it")
    body = receiver.bodies()[0]
    assert body["status"] == "firing" and body["ts"] == t0 + 61_000
