"""`telehub bench` on a tiny load, so the benchmark never rots: every section
runs and reports figures that are numbers above zero. (The figures themselves
are measured on release builds; see BENCHMARKS.md.)"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import BINARY, STORE


def test_every_section_of_the_store_benchmark_reports_figures():
    result = subprocess.run(
        [str(BINARY), "bench", "--days", "1", "--seconds", "120", "--devices", "2", "--buckets", "50"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for load in ("sensor", "random"):
        for layout in ("rows (baseline)", "chunks"):
            line = re.search(rf"^  {load}\s+{re.escape(layout)}\s+(\d+)\s+(\d+)\s+([\d.]+)", out, re.M)
            assert line, (load, layout, out)
            assert all(float(figure) > 0 for figure in line.groups()), line.group(0)
        export = re.search(rf"^  {load}\s+export.*rows (\d+) values/s, chunks (\d+) values/s", out, re.M)
        assert export and all(int(figure) > 0 for figure in export.groups()), out
    assert re.search(r"50 buckets asked, [1-9]\d* returned", out), out
    history = re.search(r"rollups:\s+([\d.]+) ms", out)
    assert history and float(history.group(1)) > 0, out
    assert re.search(r"export: 86400 values in [\d.]+ s, [1-9]\d* values/s", out), out
    assert re.search(r"retention: the oldest day \(86400 values\) deleted in [1-9]\d* steps", out), out
    assert re.search(r"ReadingEvent.json:\s+[1-9]\d* events/s", out), out


def test_bench_bounds_its_options():
    result = subprocess.run([str(BINARY), "bench", "--devices", "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "--devices must be between 1 and 10000" in result.stderr, result.stderr


def test_every_section_of_the_ingest_benchmark_reports_figures():
    """`telehub bench --ingest --quick`: the hub started, driven and measured
    over loopback, on loads of a few thousand values."""
    result = subprocess.run([str(BINARY), "bench", "--ingest", "--quick", "--json"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["startToHealthyMs"] > 0 and report["idleRSSMiB"] > 0, report
    assert len(report["throughput"]) == 8, report["throughput"]
    assert {row["deflate"] for row in report["throughput"]} == {False, True}
    for row in report["throughput"]:
        for figure in ("valuesPerSecond", "valuesPerHubCPUSecond", "storeValuesPerCPUSecond", "meanFlushValues", "ratioToStore"):
            assert row[figure] > 0, (figure, row)
    assert [row["offeredValuesPerSecond"] for row in report["latency"]] == [1000, 2000, 20000]  # devices capped at 20
    for row in report["latency"]:
        assert row["deliveries"] > 0 and 0 < row["p50Ms"] <= row["p99Ms"] <= row["maxMs"], row
    fan = report["fanOut"]
    assert fan["subscribers"] == 10 and fan["deliveries"] > 0 and fan["deliveriesPerSecond"] > 0, fan
    assert [(row["rules"], row["thresholds"]) for row in report["alerts"]] == [(0, "none"), (100, "quiet"), (100, "noisy")] * 2
    for row in report["alerts"]:
        assert row["valuesPerSecond"] > 0 and row["valuesPerHubCPUSecond"] > 0 and row["transitions"] >= 0, row
    commands = report["commands"]
    assert commands["devices"] == 20 and commands["accepted"] == 40 and commands["acceptedPerSecond"] > 0, commands
    assert commands["roundTrips"] > 0 and 0 < commands["roundTripP50Ms"] <= commands["roundTripP99Ms"], commands
    assert commands["commandsPerSecondDuringIngest"] > 0, commands
    for run in (commands["ingestAlone"], commands["ingestWithCommands"]):
        assert run["valuesPerSecond"] > 0 and run["valuesPerHubCPUSecond"] > 0, run
    assert "send -> result p50" in result.stderr, result.stderr[-2000:]
    assert [(row["devices"], row["readingsPerRequest"]) for row in report["lineProtocol"]] == [(20, 100), (10, 1000)]
    for row in report["lineProtocol"]:
        for figure in ("lineValuesPerSecond", "lineValuesPerHubCPUSecond", "nativeValuesPerSecond", "nativeValuesPerHubCPUSecond", "lineToNative"):
            assert row[figure] > 0, (figure, row)
    assert [(row["query"], row["stepSeconds"]) for row in report["queries"]] == [
        ("avg_over_time(power[1h])", 3600), ("power", 3600), ("avg_over_time(power[15s])", 15), ("power", 15)]
    for row in report["queries"]:
        assert row["points"] > 1 and 0 < row["medianMs"] <= row["p99Ms"], row
    assert [row["deflate"] for row in report["idleConnections"]] == [False, True]
    for row in report["idleConnections"]:
        assert row["connections"] == 50 and row["hubRSSAfterKiB"] > 0, row
        assert [step["connections"] for step in row["curve"]] == [50] and row["curve"][0]["hubRSSKiB"] > 0, row
    # Then some of them send a reading a second, the others connected and silent.
    paced = report["idleConnections"][0]["paced"]
    assert paced["devices"] == 10 and paced["deliveries"] > 0 and 0 < paced["p50Ms"] <= paced["p99Ms"], paced
    assert "paced" not in report["idleConnections"][1], report["idleConnections"][1]
    # Progress lines go to stderr with --json, one per figure.
    assert "device connections with deflate" in result.stderr, result.stderr[-2000:]
    assert "connected devices sending a reading a second" in result.stderr, result.stderr[-2000:]
    # And the hub restarts under them: every device back, nothing acknowledged lost.
    storm = report["reconnectStorm"]
    assert storm["devices"] == 50 and storm["missing"] == 0 and storm["lost"] == 0, storm
    assert 0 < storm["secondsAfterHealthy"] <= storm["secondsToReconnectAll"] < 60 and storm["hubRSSPeakKiB"] > 0, storm


def test_bench_refuses_unknown_sections_and_missing_hub_binaries():
    result = subprocess.run([str(BINARY), "bench", "--ingest", "--sections", "throughput,warp"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and 'unknown section "warp"' in result.stderr, result.stderr
    result = subprocess.run([str(BINARY), "bench", "--ingest", "--hub-binary", "/nonexistent/telehub"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "is not an executable file" in result.stderr, result.stderr


@pytest.mark.skipif(STORE != "postgres", reason="needs the PostgreSQL server of TELEHUB_TEST_POSTGRES")
def test_the_scale_out_benchmark_reports_every_configuration():
    """`telehub bench --scale-out --quick`: one hub on SQLite, then one and two
    hubs on a PostgreSQL database, each measured; the insert methods compared."""
    args = [str(BINARY), "bench", "--scale-out", "--quick", "--json", "--postgres", os.environ["TELEHUB_TEST_POSTGRES"]]
    pid_file = Path(os.environ.get("TELEHUB_PG_DIR", "/nonexistent")) / "data" / "postmaster.pid"
    if pid_file.exists():
        args += ["--postgres-pid", pid_file.read_text().split()[0]]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    setups = [(row["store"], row["hubs"]) for row in report["throughput"]]
    assert setups == [("sqlite", 1)] * 2 + [("postgresql", 1)] * 2 + [("postgresql", 2)] * 2, setups
    for row in report["throughput"]:
        assert row["valuesPerSecond"] > 0 and row["hubCPUSeconds"] > 0 and row["valuesPerCPUSecond"] > 0, row
        if row["store"] == "sqlite":
            assert row.get("serverCPUSeconds") is None and row["ratioToSQLite"] == 1, row
        elif pid_file.exists():
            assert row["serverCPUSeconds"] > 0, row
    assert [(row["hubs"], row["crossInstance"]) for row in report["latency"]] == [(1, False), (1, False), (2, True)]
    for row in report["latency"]:
        assert row["deliveries"] > 0 and 0 < row["p50Ms"] <= row["p99Ms"] <= row["maxMs"], row
    for method in ("unnest(arrays)", "COPY to a staging table", "COPY straight into"):
        assert re.search(rf"PostgreSQL insert, 20000 rows in batches of 5000: +[1-9]\d* rows/s.*{re.escape(method)}",
                         result.stderr), result.stderr[-2000:]


def test_scale_out_needs_a_postgresql_url():
    result = subprocess.run([str(BINARY), "bench", "--scale-out"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "--scale-out needs --postgres postgresql://" in result.stderr, result.stderr
    result = subprocess.run([str(BINARY), "bench", "--scale-out", "--postgres", "postgresql://u@h/db", "--instances", "1,x"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "--instances takes hub counts" in result.stderr, result.stderr
