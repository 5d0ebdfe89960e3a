"""The Python benchmarks in `Benchmarks/` at their smallest settings against
the built binary: each runs to the end and its figures come from real traffic
(a benchmark that saw no events would report nothing worth reading)."""
import re
import subprocess
import sys

import pytest

from conftest import BINARY, ROOT, STORE

pytestmark = pytest.mark.skipif(STORE != "sqlite", reason="the benchmarks run their hubs on SQLite")


def run(script, *args, timeout=120) -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "Benchmarks" / script), "--bin", str(BINARY), *args],
        capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_ingest_rate_reports_values_per_hub_cpu_second():
    out = run("ingest_rate.py", "--devices", "3", "--messages", "5")
    rates = [float(x.replace(",", "")) for x in re.findall(r"([\d,]+) values per hub CPU second", out)]
    assert len(rates) == 2 and all(rate > 0 for rate in rates), out


def test_latency_sees_every_reading_it_sends():
    out = run("latency.py", "--rate", "50", "--seconds", "1")
    seen = re.findall(r"\((\d+) of (\d+) seen", out)
    assert len(seen) == 3, out
    assert all(int(got) == int(sent) > 0 for got, sent in seen), out


def test_connections_measures_both_framings():
    out = run("connections.py", "--connections", "5", "--messages", "2")
    assert re.search(r"memory per connection, deflate: +[\d.]+ KiB", out), out
    assert re.search(r"bytes device->hub: plain [\d,]+ +deflate [\d,]+", out), out


def test_dashboards_each_receive_the_stream():
    out = run("dashboards.py", "--dashboards", "2", "--rate", "50", "--seconds", "1")
    low = re.search(r"events per dashboard: min (\d+)", out)
    assert low and int(low.group(1)) > 0, out


def test_reconnect_sees_every_device_back():
    out = run("reconnect.py", "--devices", "2", "--rate", "5", "--outage", "1")
    assert re.search(r"all devices connected again [\d.]+ s after the restart", out), out
