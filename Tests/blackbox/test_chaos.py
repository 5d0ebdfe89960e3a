"""Chaos: 50 simulated devices (the Swift device SDK, through `telehub
simulate`) stream for 40 seconds through a proxy that cuts and stalls their
connections, and the hub is killed once and restarted. Afterwards every
generated reading is stored exactly once and the clients' counters agree
with the store."""
import json
import time

from tcp_proxy import TcpProxy
from simulated_fleet import SimulatedFleet

DEVICES = 50
SECONDS = 40


def test_fleet_survives_cuts_stalls_and_a_hub_crash_without_loss_or_duplicates(hub_factory, tmp_path):
    hub = hub_factory().start()
    proxy = TcpProxy(hub.port, seed=7).start().chaos()
    fleet = SimulatedFleet(f"ws://127.0.0.1:{proxy.port}/v1/ingest", hub.db, tmp_path, DEVICES, SECONDS,
                           drain_timeout=90, backoff_cap=5)
    try:
        time.sleep(SECONDS * 0.4)
        hub.kill9()
        time.sleep(3)
        hub.start()
        time.sleep(SECONDS * 0.45)
        proxy.calm.set()  # let the last readings drain
        counters = fleet.finish(timeout=150)
    finally:
        fleet.kill()
        proxy.stop()
    assert proxy.cuts > 5 and proxy.stalls > 5, (proxy.cuts, proxy.stalls)
    assert sum(c["reconnects"] for c in counters.values()) >= DEVICES  # the crash alone reconnects everyone
    fleet.assert_stored_exactly_once(hub, counters)
    last_seqs = {d["name"]: d["lastSeq"] for d in json.loads(hub.cli("device", "list", "--json").stdout)}
    assert all(last_seqs[f"sim-{i}"] > 0 for i in range(DEVICES))
