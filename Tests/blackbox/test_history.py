"""History endpoint: raw or bucketed, exact aggregation, parameters and errors."""
import math
import random

import httpx
import pytest

from conftest import batch, bearer, get_json, now_ms, open_device


@pytest.fixture
def hub(hub_factory):
    """These tests load data faster than the default per-device rate limit allows."""
    return hub_factory("--rate-limit", "0").start()


def ingest(hub, device, points, metric="t"):
    """Stores (ts, value) points through a device connection, 1000 per batch."""
    token = hub.device_token(device)
    with open_device(hub, token) as session:
        for seq, start in enumerate(range(0, len(points), 1000), start=1):
            chunk = [{"ts": ts, "metrics": {metric: value}} for ts, value in points[start:start + 1000]]
            session.expect_ack(batch(seq, chunk), timeout=30)


def history(hub, reader, device, metric, **params):
    return get_json(hub, f"/v1/devices/{device}/metrics/{metric}", reader, params=params)


def expected_buckets(points, origin, step, lo, hi):
    buckets = {}
    for ts, value in points:
        if lo <= ts <= hi:
            b = buckets.setdefault((ts - origin) // step, [0.0, math.inf, -math.inf, 0])
            b[0] += value
            b[1] = min(b[1], value)
            b[2] = max(b[2], value)
            b[3] += 1
    return [[origin + k * step, s / c, mn, mx, c] for k, (s, mn, mx, c) in sorted(buckets.items())]


def test_raw_points_when_they_fit(hub):
    start = now_ms() - 600_000
    points = [(start + i * 1000, float(i)) for i in range(100)]
    ingest(hub, "h1", points)
    reader = hub.read_token()
    answer = history(hub, reader, "h1", "t", **{"from": start, "to": start + 99_000, "points": 100})
    assert answer == {"step": 0, "points": [[ts, value] for ts, value in points]}
    # Defaults: the last hour, 500 points.
    assert history(hub, reader, "h1", "t")["points"] == [[ts, value] for ts, value in points]


def test_a_month_in_buckets_equals_the_raw_aggregation(hub):
    rng = random.Random(4)
    end = now_ms() - 60_000
    begin = end - 30 * 86_400_000
    # Every ~10 minutes for 30 days, irregular, sent out of order.
    points = sorted({(begin + i * 600_000 + rng.randrange(0, 599_000), round(rng.uniform(-20, 40), 3)) for i in range(4320)})
    shuffled = points[:]
    rng.shuffle(shuffled)
    ingest(hub, "month", shuffled)
    reader = hub.read_token()
    lo, hi = begin + 12_345, end
    answer = history(hub, reader, "month", "t", **{"from": lo, "to": hi, "points": 500})
    step = answer["step"]
    assert step == 7_200_000  # two-hour buckets: the nicest width that fits 500
    assert len(answer["points"]) <= 500
    origin = lo // step * step
    expected = expected_buckets(points, origin, step, lo, hi)
    assert [p[0] for p in answer["points"]] == [e[0] for e in expected]
    for got, want in zip(answer["points"], expected):
        assert got[1] == pytest.approx(want[1], abs=1e-9)
        assert got[2:] == want[2:]
    assert sum(p[4] for p in answer["points"]) == sum(1 for ts, _ in points if lo <= ts <= hi)


def test_overwrites_are_reflected_in_buckets(hub):
    start = (now_ms() - 7_200_000) // 3_600_000 * 3_600_000
    points = [(start + i * 10_000, 1.0) for i in range(360)]
    ingest(hub, "ow", points)
    # Overwrite one value with a new minimum, through a fresh session.
    token = hub.device_token("ow")
    with open_device(hub, token) as session:
        session.expect_ack(batch(100, [{"ts": start + 50_000, "metrics": {"t": -7.0}}]))
    answer = history(hub, hub.read_token(), "ow", "t", **{"from": start, "to": start + 3_599_999, "points": 6})
    assert answer["step"] == 600_000
    first = answer["points"][0]
    assert first[2] == -7.0 and first[3] == 1.0 and first[4] == 60
    assert first[1] == pytest.approx((59 - 7) / 60)
    assert sum(p[4] for p in answer["points"]) == 360


def test_points_above_the_cap_are_capped(hub):
    start = now_ms() - 3_000_000
    ingest(hub, "cap", [(start + i * 100, 1.0) for i in range(12_000)])
    answer = history(hub, hub.read_token(), "cap", "t", **{"from": start, "to": start + 1_199_999, "points": 50_000})
    assert answer["step"] > 0
    assert len(answer["points"]) <= 10_000
    assert sum(p[4] for p in answer["points"]) == 12_000


@pytest.mark.parametrize("params, fragment", [
    ({"from": "abc"}, "from must be an integer"),
    ({"to": "1.5"}, "to must be an integer"),
    ({"from": 2000, "to": 1000}, "is after to"),
    ({"points": 0}, "points must be at least 1"),
])
def test_bad_parameters_are_400_with_a_message(hub, params, fragment):
    ingest(hub, "bad", [(now_ms() - 1000, 1.0)])
    response = httpx.get(f"{hub.url}/v1/devices/bad/metrics/t", params=params, headers=bearer(hub.read_token()))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_query"
    assert fragment in response.json()["message"]


def test_unknown_device_or_metric_is_404_and_token_required(hub):
    ingest(hub, "known", [(now_ms() - 1000, 1.0)])
    reader = hub.read_token()
    assert get_json(hub, "/v1/devices/nobody/metrics/t", reader, expect=404) == {"error": "not_found"}
    assert get_json(hub, "/v1/devices/known/metrics/nothing", reader, expect=404) == {"error": "not_found"}
    assert get_json(hub, "/v1/devices/known/metrics/t", None, expect=401) == {"error": "unauthorized"}
