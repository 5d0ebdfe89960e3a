"""Chaos: 50 simulated devices (the Swift device SDK, through `telehub
simulate`) stream for 50 seconds through a proxy that cuts and stalls their
connections, and the hub is killed once and restarted, while each device is
sent 20 commands. Afterwards every generated reading is stored exactly once,
the clients' counters agree with the store, and every command is final,
succeeded, and was run exactly once by its device."""
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from conftest import bearer
from tcp_proxy import TcpProxy
from simulated_fleet import SimulatedFleet

DEVICES = 50
SECONDS = 50
COMMANDS = 20
SENDING_SECONDS = 25  # every command sent by then, so all can finish while the fleet runs


class Gate:
    """Sends pass while the gate is open; `closed()` waits for those under way."""

    def __init__(self):
        self.condition = threading.Condition()
        self.open, self.passing = True, 0

    def __enter__(self):
        with self.condition:
            self.condition.wait_for(lambda: self.open)
            self.passing += 1

    def __exit__(self, *exc):
        with self.condition:
            self.passing -= 1
            self.condition.notify_all()

    def closed(self):
        gate = self

        class Closed:
            def __enter__(self):
                with gate.condition:
                    gate.open = False
                    gate.condition.wait_for(lambda: gate.passing == 0)

            def __exit__(self, *exc):
                with gate.condition:
                    gate.open = True
                    gate.condition.notify_all()
        return Closed()


class CommandSender(threading.Thread):
    """Sends each device `COMMANDS` set-interval commands over the run. Sends
    pause while the hub is being killed (`paused`), so that every command is
    either accepted (202) or never made: none is left in doubt."""

    def __init__(self, hub, control):
        super().__init__(daemon=True)
        self.hub, self.control = hub, control
        self.gate = Gate()
        self.sent = {}  # id -> (device, seconds)
        self.error = None

    def run(self):
        try:
            with httpx.Client(headers=bearer(self.control), timeout=10) as client, ThreadPoolExecutor(8) as pool:
                while len(client.get(f"{self.hub.url}/v1/devices").json()["devices"]) < DEVICES:
                    time.sleep(0.2)  # the fleet's devices exist once simulate made their tokens
                started = time.monotonic()
                for round_ in range(COMMANDS):
                    seconds = 0.4 + (round_ % 10) / 100  # keeps the rate near the fleet's 2 readings/s
                    list(pool.map(lambda index: self.send(client, index, seconds), range(DEVICES)))
                    time.sleep(max(0.0, started + (round_ + 1) * SENDING_SECONDS / COMMANDS - time.monotonic()))
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.error = error

    def send(self, client, index, seconds):
        with self.gate:
            response = client.post(f"{self.hub.url}/v1/devices/sim-{index}/commands",
                                   json={"name": "set-interval", "args": {"seconds": seconds}})
        assert response.status_code == 202, response.text
        self.sent[response.json()["id"]] = (f"sim-{index}", seconds)


def test_fleet_survives_cuts_stalls_and_a_hub_crash_without_loss_or_duplicates(hub_factory, tmp_path):
    hub = hub_factory().start()
    control = hub.cli("token", "create", "--control").stdout.strip()
    proxy = TcpProxy(hub.port, seed=7).start().chaos()
    fleet = SimulatedFleet(f"ws://127.0.0.1:{proxy.port}/v1/ingest", hub.db, tmp_path, DEVICES, SECONDS,
                           drain_timeout=90, backoff_cap=5)
    sender = CommandSender(hub, control)
    began = time.monotonic()
    try:
        sender.start()
        time.sleep(SECONDS * 0.4)
        with sender.gate.closed():
            hub.kill9()
            time.sleep(3)
            hub.start()
        sender.join(60)
        time.sleep(max(0, SECONDS * 0.85 - (time.monotonic() - began)))
        proxy.calm.set()  # let the last readings and answers drain
        counters = fleet.finish(timeout=150)
    finally:
        fleet.kill()
        proxy.stop()
    assert sender.error is None, sender.error
    assert proxy.cuts > 5 and proxy.stalls > 5, (proxy.cuts, proxy.stalls)
    assert sum(c["reconnects"] for c in counters.values()) >= DEVICES  # the crash alone reconnects everyone
    fleet.assert_stored_exactly_once(hub, counters)
    last_seqs = {d["name"]: d["lastSeq"] for d in json.loads(hub.cli("device", "list", "--json").stdout)}
    assert all(last_seqs[f"sim-{i}"] > 0 for i in range(DEVICES))
    # Every command final and succeeded with the interval it asked for, none lost, none run twice.
    assert len(sender.sent) == DEVICES * COMMANDS
    resent = 0
    with httpx.Client(headers=bearer(control), timeout=10) as client:
        for index in range(DEVICES):
            listed = client.get(f"{hub.url}/v1/devices/sim-{index}/commands?limit=100").json()["commands"]
            assert len(listed) == COMMANDS, (index, len(listed))
            for record in listed:
                device, seconds = sender.sent[record["id"]]
                assert (record["device"], record["status"], record["result"]) == (
                    device, "succeeded", {"interval": seconds}), record
                resent += record["attempts"] > 1
            assert counters[f"sim-{index}"]["commandsRun"] == COMMANDS, counters[f"sim-{index}"]
    print(f"chaos: {proxy.cuts} cuts, {proxy.stalls} stalls, {DEVICES * COMMANDS} commands, {resent} sent more than once")
