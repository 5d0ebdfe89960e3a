#!/usr/bin/env python3
"""How a fleet on the Swift device SDK comes back after the hub goes away.

N simulated devices (`telehub simulate`) stream at R readings/s; the hub is
killed (SIGKILL) for D seconds and restarted. Prints the time from the
restart until every device is connected again (hub's /metrics), and until
every buffered reading is acknowledged (simulate's live line), with the
backfill rate that implies. The steady rate before the outage is the baseline.

    python3 Benchmarks/reconnect.py --bin .build/release/telehub --devices 20 --rate 5 --outage 10
"""
import argparse
import re
import sys
import subprocess
import tempfile
import threading
import time
import urllib.request

from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Tests" / "support"))
from telehub_process import Hub  # noqa: E402 (the one hub launcher of tests and benchmarks)


def connections(port):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1).read().decode()
    except OSError:
        return 0
    match = re.search(r"^telehub_device_connections ([0-9.]+)", text, re.M)
    return int(float(match.group(1))) if match else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release/telehub")
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5)
    parser.add_argument("--outage", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(tmp, binary=args.bin).start()
        port = hub.port
        lines = []
        sim = subprocess.Popen([args.bin, "simulate", "--devices", str(args.devices), "--rate", str(args.rate),
                                "--url", hub.ws_url, "--db", str(hub.db), "--duration", str(20 + args.outage + 30),
                                "--backoff-cap", "5", "--stable-after", "5"], stdout=subprocess.PIPE, text=True)
        threading.Thread(target=lambda: [lines.append((time.monotonic(), l)) for l in sim.stdout], daemon=True).start()
        time.sleep(10)
        hub.kill9()
        time.sleep(args.outage)
        restarted = time.monotonic()
        hub.start()
        while connections(port) < args.devices:
            time.sleep(0.02)
        reconnected = time.monotonic() - restarted
        backlog, drained = None, None
        while drained is None and time.monotonic() - restarted < 60:
            time.sleep(0.2)
            for stamp, line in lines:
                if stamp < restarted:
                    continue
                buffered = int(re.search(r"buffered (\d+)", line).group(1))
                backlog = max(backlog or 0, buffered)
                if buffered <= args.devices and drained is None and stamp - restarted > reconnected:
                    drained = stamp - restarted
        sim.terminate()
        hub.stop()
    steady = args.devices * args.rate
    print(f"{args.devices} devices at {args.rate:g} readings/s ({steady:g}/s in all), hub down {args.outage:g} s")
    print(f"all devices connected again {reconnected:.2f} s after the restart")
    if drained:
        rate = backlog / max(0.001, drained)
        print(f"backlog of {backlog} readings acknowledged {drained:.1f} s after the restart "
              f"(about {rate:.0f} readings/s, {rate / steady:.1f}x the steady rate)")


if __name__ == "__main__":
    main()
