"""Chaos: 50 simulated devices (the Swift device SDK, through `telehub
simulate`) stream for a minute through a proxy that cuts and stalls their
connections, and the hub is killed once and restarted. Afterwards every
generated reading is stored exactly once and the clients' counters agree
with the store."""
import json
from collections import Counter
import subprocess
import time

from tcp_proxy import TcpProxy
from conftest import BINARY, exported

DEVICES = 50
SECONDS = 60
# Metrics per reading of each simulated device: the demo fleet's signals, in order.
METRICS = [3, 3, 2, 1]


def test_fleet_survives_cuts_stalls_and_a_hub_crash_without_loss_or_duplicates(hub_factory, tmp_path):
    hub = hub_factory().start()
    proxy = TcpProxy(hub.port, seed=7).start().chaos()
    summary = tmp_path / "summary.json"
    simulate = subprocess.Popen(
        [str(BINARY), "simulate", "--devices", str(DEVICES), "--rate", "2", "--duration", str(SECONDS),
         "--url", f"ws://127.0.0.1:{proxy.port}/v1/ingest", "--db", str(hub.db), "--heartbeat", "2",
         "--buffer-dir", str(tmp_path / "buffers"), "--summary", str(summary), "--drain-timeout", "90",
         "--backoff-cap", "5", "--stable-after", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(SECONDS * 0.4)
        hub.kill9()
        time.sleep(3)
        hub.start()
        time.sleep(SECONDS * 0.45)
        proxy.calm.set()  # let the last readings drain
        try:
            output, _ = simulate.communicate(timeout=150)
        except subprocess.TimeoutExpired:
            simulate.kill()
            output, _ = simulate.communicate()
            raise AssertionError(f"simulate did not finish; its last lines:\n{output[-1500:]}")
    finally:
        if simulate.poll() is None:
            simulate.kill()
        proxy.stop()
    assert simulate.returncode == 0, output[-2000:]
    counters = json.loads(summary.read_text())
    assert len(counters) == DEVICES
    assert proxy.cuts > 5 and proxy.stalls > 5, (proxy.cuts, proxy.stalls)
    assert sum(c["reconnects"] for c in counters.values()) >= DEVICES  # the crash alone reconnects everyone

    values = exported(hub)
    stored = Counter(name for name, _, _, _ in values)
    timestamps = Counter(name for name, _ in {(name, ts) for name, _, ts, _ in values})
    for index in range(DEVICES):
        name = f"sim-{index}"
        c = counters[name]
        assert c["buffered"] == 0 and c["rejected"] == 0 and c["droppedFull"] == 0, (name, c)
        assert c["acked"] == c["sent"] > SECONDS, (name, c)
        # Every generated reading, exactly once: one row per metric per reading, one distinct ts per reading.
        assert timestamps.get(name) == c["sent"], (name, c, timestamps.get(name))
        assert stored.get(name) == c["sent"] * METRICS[index % 4], (name, c, stored.get(name))
    last_seqs = {d["name"]: d["lastSeq"] for d in json.loads(hub.cli("device", "list", "--json").stdout)}
    assert all(last_seqs[f"sim-{i}"] > 0 for i in range(DEVICES))
