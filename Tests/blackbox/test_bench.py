"""`telehub bench` on a tiny load, so the benchmark never rots: every section
runs and reports figures that are numbers above zero. (The figures themselves
are measured on release builds; see BENCHMARKS.md.)"""
import re
import subprocess

from conftest import BINARY


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
