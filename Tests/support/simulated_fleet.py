"""A fleet of simulated devices on the Swift device SDK (`telehub simulate`),
for the suites that break things while it streams (test_chaos.py,
test_nginx.py), and the check that every generated reading was stored once."""
import json
import subprocess
from collections import Counter

from telehub_process import BINARY

# Metrics per reading of each simulated device: the demo fleet's signals, in order.
METRICS = [3, 3, 2, 1]


class SimulatedFleet:
    def __init__(self, url, db, workdir, devices, seconds, drain_timeout, backoff_cap):
        self.devices, self.seconds = devices, seconds
        self.summary = workdir / "summary.json"
        self.proc = subprocess.Popen(
            [str(BINARY), "simulate", "--devices", str(devices), "--rate", "2", "--duration", str(seconds),
             "--url", url, "--db", str(db), "--heartbeat", "2", "--buffer-dir", str(workdir / "buffers"),
             "--summary", str(self.summary), "--drain-timeout", str(drain_timeout),
             "--backoff-cap", str(backoff_cap), "--stable-after", "5"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def finish(self, timeout):
        """Waits for the fleet to end; returns each device's counters."""
        try:
            output, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            output, _ = self.proc.communicate()
            raise AssertionError(f"simulate did not finish; its last lines:\n{output[-1500:]}")
        assert self.proc.returncode == 0, output[-2000:]
        counters = json.loads(self.summary.read_text())
        assert len(counters) == self.devices
        return counters

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()

    def assert_stored_exactly_once(self, hub, counters):
        """Every generated reading acknowledged and stored once: one row per
        metric per reading, one distinct ts per reading; nothing left buffered."""
        values = hub.exported()
        stored = Counter(name for name, _, _, _ in values)
        timestamps = Counter(name for name, _ in {(name, ts) for name, _, ts, _ in values})
        for index in range(self.devices):
            name = f"sim-{index}"
            c = counters[name]
            assert c["buffered"] == 0 and c["rejected"] == 0 and c["droppedFull"] == 0, (name, c)
            assert c["acked"] == c["sent"] > self.seconds, (name, c)
            assert timestamps.get(name) == c["sent"], (name, c, timestamps.get(name))
            assert stored.get(name) == c["sent"] * METRICS[index % 4], (name, c, stored.get(name))
