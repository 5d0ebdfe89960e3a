"""`GET /metrics` (no token, Prometheus text): rejections per device and
reason, ingest counters, live gauges and the commit/flush histograms, parsed
(label order free) and checked against what the test itself did."""
import re
import time

import httpx
import pytest

from conftest import batch, event_stream, metric_value, now_ms, open_device, post_json, reading, scrape, wait_for

HISTOGRAMS = ("telehub_commit_seconds", "telehub_flush_values")


def value(hub, name, **labels):
    return metric_value(scrape(hub), name, **labels)


def rejections(hub, device, reason):
    return value(hub, "telehub_rejections_total", device=device, reason=reason)


def eventually_equals(hub, name, expected, timeout=2.0, **labels):
    """Waits (briefly) until the sample equals `expected`; returns what was last seen."""
    seen = []

    def check():
        seen.append(value(hub, name, **labels))
        return seen[-1] == expected

    try:
        wait_for(check, timeout=timeout, interval=0.05, message=f"{name}{labels} == {expected}")
    except AssertionError:
        raise AssertionError(f"{name}{labels}: expected {expected}, last seen {seen[-1]} ({timeout} s)") from None
    return seen[-1]


def test_metrics_is_public_prometheus_text(hub):
    response = httpx.get(f"{hub.url}/metrics", timeout=10)  # no token at all
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", response.text, re.M))
    assert types.get("telehub_device_connections") == "gauge"
    assert types.get("telehub_stream_clients") == "gauge"
    assert types.get("telehub_messages_ingested_total") == "counter"
    assert types.get("telehub_values_ingested_total") == "counter"
    for histogram in HISTOGRAMS:
        assert types.get(histogram) == "histogram", types
    samples = scrape(hub)
    for histogram in HISTOGRAMS:
        assert metric_value(samples, f"{histogram}_count") == 0
        assert metric_value(samples, f"{histogram}_sum") == 0
        assert metric_value(samples, f"{histogram}_bucket", le="+Inf") == 0
    assert metric_value(samples, "telehub_device_connections") == 0
    assert metric_value(samples, "telehub_stream_clients") == 0


def test_rejections_counted_per_device_and_reason(hub_factory):
    hub = hub_factory("--max-batch", "2", "--rate-limit", "2", "--rate-burst", "2").start()
    ts = now_ms() - 1000
    x, y = hub.device_token("dev-x"), hub.device_token("dev-y")
    assert rejections(hub, "dev-x", "invalid_value") is None
    with open_device(hub, x) as device:
        assert device.request(reading(1, {"v": "warm"}, ts=ts))["code"] == "invalid_value"
        eventually_equals(hub, "telehub_rejections_total", 1, device="dev-x", reason="invalid_value")
        # Every reason is its own series.
        cases = [
            ("{oops", "invalid_json"),
            ({"type": "nope", "seq": 2}, "invalid_message"),
            (reading(3, {"no spaces": 1}, ts=ts), "invalid_name"),
            (reading(4, {"v": 1}, ts=42), "invalid_timestamp"),
            (batch(5, [{"ts": ts + i, "metrics": {"v": i}} for i in range(3)]), "batch_too_large"),
        ]
        for message, reason in cases:
            assert device.request(message)["code"] == reason
        device.expect_ack(batch(6, [{"ts": ts + 10, "metrics": {"v": 1}}, {"ts": ts + 11, "metrics": {"v": 2}}]))
        assert device.request(reading(7, {"v": 3}, ts=ts + 12))["code"] == "rate_limited"
    with open_device(hub, y) as device:
        assert device.request(reading(1, {"v": 1}, ts=3))["code"] == "invalid_timestamp"
    # HTTP rejections count too.
    assert post_json(hub, "/v1/ingest", x, reading(8, {"v": None}, ts=ts)).status_code == 400

    eventually_equals(hub, "telehub_rejections_total", 2, device="dev-x", reason="invalid_value")
    for reason in ("invalid_json", "invalid_message", "invalid_name", "invalid_timestamp", "batch_too_large",
                   "rate_limited"):
        assert rejections(hub, "dev-x", reason) == 1, reason
    assert rejections(hub, "dev-y", "invalid_timestamp") == 1
    assert rejections(hub, "dev-y", "invalid_value") is None


def test_ingest_counters_and_histograms_grow_with_acks(hub):
    token, ts = hub.device_token("counted"), now_ms() - 10_000
    before = scrape(hub)
    with open_device(hub, token) as device:
        device.expect_ack(batch(1, [
            {"ts": ts, "metrics": {"a": 1, "b": 2}},
            {"ts": ts + 1, "metrics": {"a": 3, "b": 4}},
            {"ts": ts + 2, "metrics": {"a": 5}},
        ]))
        after_batch = scrape(hub)
        device.expect_ack(reading(2, {"a": 1, "b": 2, "c": 3}, ts=ts + 3))
    assert post_json(hub, "/v1/ingest", token, reading(3, {"z": 1}, ts=ts + 4)).json() == {"ack": 3}
    after = scrape(hub)

    def delta(samples, earlier, name, **labels):
        return metric_value(samples, name, **labels) - metric_value(earlier, name, **labels)

    # Acked means committed, so the counters already include each acked message.
    assert delta(after_batch, before, "telehub_messages_ingested_total") == 1
    assert delta(after_batch, before, "telehub_values_ingested_total") == 5
    assert delta(after, before, "telehub_messages_ingested_total") == 3
    assert delta(after, before, "telehub_values_ingested_total") == 9
    assert delta(after, before, "telehub_flush_values_sum") == 9
    for histogram in HISTOGRAMS:
        count = metric_value(after, f"{histogram}_count")
        assert count >= 1 and delta(after, before, f"{histogram}_count") >= 1
        buckets = sorted(
            (float(dict(labels)["le"]), v) for (name, labels), v in after.items() if name == f"{histogram}_bucket"
        )
        assert buckets and buckets[-1][0] == float("inf"), buckets
        assert buckets[-1][1] == count
        assert all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), f"{histogram} buckets not cumulative"
    assert metric_value(after, "telehub_commit_seconds_sum") > 0


def test_device_connections_gauge(hub):
    a, b = hub.device_token("gauge-a"), hub.device_token("gauge-b")
    eventually_equals(hub, "telehub_device_connections", 0)
    first, second = open_device(hub, a), open_device(hub, b)
    eventually_equals(hub, "telehub_device_connections", 2)
    # A takeover replaces a connection; it does not add one.
    replacement = open_device(hub, a)
    time.sleep(0.2)
    eventually_equals(hub, "telehub_device_connections", 2)
    first.close()
    second.close()
    eventually_equals(hub, "telehub_device_connections", 1)
    replacement.close()
    eventually_equals(hub, "telehub_device_connections", 0)


@pytest.mark.parametrize("quiet", [True, False], ids=["quiet-hub", "busy-hub"])
def test_stream_clients_gauge_follows_open_streams(hub, quiet):
    """The gauge counts open streams; a client that leaves is no longer
    counted within 2 s, even on a quiet hub (no event to write that would
    reveal the dead connection)."""
    reader, token = hub.read_token(), hub.device_token("chatty")
    with event_stream(hub, reader) as one:
        assert one.next().event == "snapshot"
        with event_stream(hub, reader) as two:
            assert two.next().event == "snapshot"
            eventually_equals(hub, "telehub_stream_clients", 2)
        if not quiet:
            with open_device(hub, token) as device:
                device.expect_ack(reading(1, {"v": 1}))
        eventually_equals(hub, "telehub_stream_clients", 1)
    eventually_equals(hub, "telehub_stream_clients", 0)
