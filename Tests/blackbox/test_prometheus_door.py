"""The Prometheus door (contract v1.2): Debian's `promtool` and the requests
Grafana's Prometheus data source makes, against a hub holding real readings."""
import shutil
import subprocess

import httpx
import pytest

from conftest import bearer, now_ms

STEP_S = 10


@pytest.fixture
def fleet(hub):
    """Two devices, ten minutes of readings every 10 s written through the
    InfluxDB door: `env.temp-c` (20…24 repeating) and a counter `env.count`."""
    end_s = (now_ms() // 1000) // 60 * 60 - 60  # a whole minute, in the recent past
    start_s = end_s - 600
    for device, offset in (("dev-a", 0), ("dev-b", 10)):
        token = hub.device_token(device)
        lines = "\n".join(
            f"env temp-c={20 + (i % 5) + offset},count={i}i {start_s + i * STEP_S}" for i in range(61))
        response = httpx.post(f"{hub.url}/write", params={"precision": "s"}, content=lines,
                              headers={"Authorization": f"Token {token}"})
        assert response.status_code == 204, response.text
    return hub, hub.read_token(), start_s, end_s


def api(hub, token, path, method="GET", **params):
    if method == "POST":
        return httpx.post(f"{hub.url}{path}", data=params, headers=bearer(token), timeout=10)
    return httpx.get(f"{hub.url}{path}", params=params, headers=bearer(token), timeout=10)


def ok(response):
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success", body
    return body["data"]


def test_one_plus_one_for_grafanas_save_and_test(fleet):
    hub, token, _, end_s = fleet
    data = ok(api(hub, token, "/api/v1/query", method="POST", query="1+1", time=str(end_s)))
    assert data == {"resultType": "scalar", "result": [end_s, "2"]}


def test_names_with_dots_and_dashes_are_exposed_with_underscores_and_matched_both_ways(fleet):
    hub, token, _, end_s = fleet
    assert ok(api(hub, token, "/api/v1/label/__name__/values")) == ["env_count", "env_temp_c"]
    assert ok(api(hub, token, "/api/v1/label/device/values")) == ["dev-a", "dev-b"]
    assert ok(api(hub, token, "/api/v1/labels")) == ["__name__", "device"]
    for query in ('env_temp_c{device="dev-a"}', '{__name__="env.temp-c",device="dev-a"}', 'env.temp_c{device=~"dev-a"}'):
        data = ok(api(hub, token, "/api/v1/query", query=query, time=str(end_s)))
        assert data["resultType"] == "vector"
        assert data["result"] == [{"metric": {"__name__": "env_temp_c", "device": "dev-a"}, "value": [end_s, "20"]}], query


def test_a_range_query_at_several_steps_gives_the_last_value_at_each(fleet):
    hub, token, start_s, end_s = fleet
    for step in (10, 30, 60):
        data = ok(api(hub, token, "/api/v1/query_range", method="POST", query='env_temp_c{device="dev-b"}',
                      start=str(start_s), end=str(end_s), step=str(step)))
        assert data["resultType"] == "matrix"
        [series] = data["result"]
        assert series["metric"] == {"__name__": "env_temp_c", "device": "dev-b"}
        expected = [[t, str(30 + ((t - start_s) // STEP_S) % 5)] for t in range(start_s, end_s + 1, step)]
        assert series["values"] == expected, step


def test_functions_aggregations_and_arithmetic(fleet):
    hub, token, start_s, end_s = fleet
    t = str(end_s)
    rates = ok(api(hub, token, "/api/v1/query", query="sum by (device) (rate(env_count[2m]))", time=t))["result"]
    assert sorted(r["metric"]["device"] for r in rates) == ["dev-a", "dev-b"]
    assert all(abs(float(r["value"][1]) - 0.1) < 1e-9 for r in rates)
    avg = ok(api(hub, token, "/api/v1/query", query='avg_over_time(env_temp_c{device="dev-a"}[50s])', time=t))["result"]
    assert avg == [{"metric": {"device": "dev-a"}, "value": [end_s, "22"]}]
    total = ok(api(hub, token, "/api/v1/query", query="count(env_temp_c) + max(env_temp_c) * 0", time=t))["result"]
    assert [float(r["value"][1]) for r in total] == [2]
    fahrenheit = ok(api(hub, token, "/api/v1/query", query='env_temp_c{device="dev-a"} * 1.8 + 32', time=t))["result"]
    assert fahrenheit == [{"metric": {"device": "dev-a"}, "value": [end_s, "68"]}]


def test_errors_are_bad_data_in_prometheus_shape(fleet):
    hub, token, start_s, end_s = fleet
    for params in ({"query": "histogram_quantile(0.9, x)"}, {"query": "x[5m]"}, {"query": "sum("}, {}):
        response = api(hub, token, "/api/v1/query", **params)
        assert response.status_code == 400
        body = response.json()
        assert body["status"] == "error" and body["errorType"] == "bad_data" and body["error"], body
    too_fine = api(hub, token, "/api/v1/query_range", query="1", start="0", end="200000", step="1")
    assert too_fine.status_code == 400 and "11000" in too_fine.json()["error"].replace(",", "")
    backwards = api(hub, token, "/api/v1/query_range", query="1", start=str(end_s), end=str(start_s), step="10")
    assert backwards.status_code == 400
    assert api(hub, token, "/api/v1/series").status_code == 400  # match[] is required


def test_read_token_as_bearer_or_basic_password_nothing_else(fleet):
    hub, token, _, _ = fleet
    assert httpx.get(f"{hub.url}/api/v1/query", params={"query": "1"}, auth=("grafana", token)).status_code == 200
    assert httpx.get(f"{hub.url}/api/v1/query", params={"query": "1"}).status_code == 401
    assert httpx.get(f"{hub.url}/api/v1/query", params={"query": "1"}, auth=("grafana", "thr_wrong")).status_code == 401
    device = hub.device_token("not-a-reader")
    assert httpx.get(f"{hub.url}/api/v1/query", params={"query": "1"}, headers=bearer(device)).status_code == 401


def test_grafana_opening_a_dashboard(fleet):
    """The requests Grafana's Prometheus data source (10.x) makes, replayed as
    it sends them: form-encoded POSTs, basic authentication, the health check,
    metric and label lookups, then one panel's range queries at the steps of
    its zoom levels (start and end aligned to the step)."""
    hub, token, start_s, end_s = fleet
    headers = {"User-Agent": "Grafana/10.4.2", "X-Grafana-Org-Id": "1", "Accept": "application/json, text/plain, */*"}
    auth = ("grafana", token)
    client = httpx.Client(base_url=hub.url, auth=auth, headers=headers, timeout=10)
    recorded = [
        ("POST", "/api/v1/query", {"query": "1+1", "time": str(end_s)}),
        ("GET", "/api/v1/status/buildinfo", {}),
        ("GET", "/api/v1/metadata", {}),
        ("GET", "/api/v1/labels", {"start": str(start_s), "end": str(end_s)}),
        ("GET", "/api/v1/label/__name__/values", {"start": str(start_s), "end": str(end_s)}),
        ("GET", "/api/v1/label/device/values", {"start": str(start_s), "end": str(end_s), "match[]": "env_temp_c"}),
        ("POST", "/api/v1/series", {"match[]": '{__name__="env_temp_c"}', "start": str(start_s), "end": str(end_s)}),
    ]
    for method, path, params in recorded:
        if method == "POST":
            response = client.post(path, data=params)
        else:
            response = client.get(path, params=params)
        data = ok(response)
        if path.endswith("buildinfo"):
            assert data["version"].startswith("2.")
        if path == "/api/v1/series":
            assert data == [{"__name__": "env_temp_c", "device": "dev-a"}, {"__name__": "env_temp_c", "device": "dev-b"}]
        if path.endswith("/device/values"):
            assert data == ["dev-a", "dev-b"]
    for step in (15, 30, 60, 120):
        start, end = start_s // step * step, end_s // step * step
        data = ok(client.post("/api/v1/query_range", data={
            "query": "avg by (device) (avg_over_time(env_temp_c[$__interval]))".replace("$__interval", f"{step}s"),
            "start": str(start), "end": str(end), "step": str(step)}))
        assert data["resultType"] == "matrix"
        assert sorted(s["metric"]["device"] for s in data["result"]) == ["dev-a", "dev-b"]
        for series in data["result"]:
            times = [v[0] for v in series["values"]]
            assert times == sorted(times) and all((t - start) % step == 0 for t in times)
            assert all(isinstance(v[1], str) for v in series["values"])
    client.close()


@pytest.mark.skipif(shutil.which("promtool") is None, reason="Debian's promtool (package prometheus) is missing")
def test_promtool_instant_range_labels_and_series(fleet):
    hub, token, start_s, end_s = fleet
    server = f"http://grafana:{token}@127.0.0.1:{hub.port}"

    def promtool(*args):
        result = subprocess.run(["promtool", "query", *args], capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        return result.stdout

    instant = promtool("instant", f"--time={end_s}", server, 'env_temp_c{device="dev-a"} * 1.8 + 32')
    assert '{device="dev-a"} => 68 @[' in instant
    ranged = promtool("range", f"--start={start_s}", f"--end={end_s}", "--step=1m", server, "sum by (device) (rate(env_count[1m]))")
    assert '{device="dev-a"} =>' in ranged and '{device="dev-b"} =>' in ranged
    assert ranged.count("0.1 @[") >= 2 * 9
    assert promtool("labels", server, "device").split() == ["dev-a", "dev-b"]
    series = promtool("series", '--match={device="dev-b"}', server)
    assert series.split("\n")[:2] == ['{__name__="env_count", device="dev-b"}', '{__name__="env_temp_c", device="dev-b"}']
