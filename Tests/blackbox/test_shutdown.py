"""Stopping under load. SIGTERM: acks that are due are sent, devices get 1001,
streams end, exit 0 within 5 s, nothing acknowledged is lost. kill -9 in a
loop: devices that resume from hello.lastSeq and resend what was not
acknowledged end with every acknowledged reading stored exactly once."""
import json
import os
import random
import threading
import time
from collections import deque

from websockets.exceptions import ConnectionClosed

from conftest import event_stream, exported, now_ms, open_device, stored_readings, wait_for

LOAD_ARGS = ("--rate-limit", "0")  # the rate limit is tested elsewhere; here the hub must keep up
READINGS_PER_BATCH = 20


class DeviceLog:
    """Everything one simulated device ever sent, across connections and restarts."""

    def __init__(self, name, token, t0):
        self.name, self.token, self.t0 = name, token, t0
        self.messages = {}  # seq -> JSON text (resent verbatim)
        self.next_seq = 1
        self.acked = 0  # highest seq acknowledged, ever

    def new_message(self):
        seq = self.next_seq
        self.next_seq += 1
        base = self.t0 + seq * 1000  # a distinct ts per reading, never reused
        readings = [{"ts": base + i, "metrics": {"temp": seq * 1000 + i, "hum": (seq * 1000 + i) / 8}}
                    for i in range(READINGS_PER_BATCH)]
        self.messages[seq] = json.dumps({"type": "batch", "seq": seq, "readings": readings})
        return seq

    def rows_up_to(self, last_seq):
        """{(metric, ts): value} of every message with seq <= last_seq."""
        rows = {}
        for seq, text in self.messages.items():
            if seq <= last_seq:
                for r in json.loads(text)["readings"]:
                    for metric, value in r["metrics"].items():
                        rows[(metric, r["ts"])] = value
        return rows


class Streamer(threading.Thread):
    """One connection of a device: resumes after hello.lastSeq (resending sent
    but unacknowledged messages first), then streams new batches with a few in
    flight, until the connection ends or `stop` is set."""

    def __init__(self, hub, log, window=4):
        super().__init__(daemon=True)
        self.hub, self.log, self.window = hub, log, window
        self.stop = threading.Event()
        self.hello_last_seq = None
        self.acks = []  # acked seqs on this connection, in order
        self.unexpected = []  # any reply that is neither an ack nor a retryable error
        self.retryable = []
        self.close_code = None
        self.ended = None

    def run(self):
        try:
            device = open_device(self.hub, self.log.token)
        except Exception as error:  # noqa: BLE001 - the hub may die while we connect
            self.ended = f"connect failed: {error!r}"
            return
        self.hello_last_seq = device.hello["lastSeq"]
        resend = deque(seq for seq in sorted(self.log.messages) if seq > self.hello_last_seq)
        outstanding = deque()
        try:
            while not self.stop.is_set():
                try:
                    while len(outstanding) < self.window:
                        seq = resend.popleft() if resend else self.log.new_message()
                        device.send(self.log.messages[seq])
                        outstanding.append(seq)
                except ConnectionClosed:
                    pass  # the hub is closing: read on, the acks it sent before its close are still due
                reply = device.recv(timeout=10)
                if reply.get("type") == "ack":
                    assert not self.acks or reply["seq"] > self.acks[-1], f"ack went backwards: {reply}"
                    self.acks.append(reply["seq"])
                    self.log.acked = max(self.log.acked, reply["seq"])
                    while outstanding and outstanding[0] <= reply["seq"]:
                        outstanding.popleft()
                elif reply.get("type") == "error" and reply.get("retryable"):
                    self.retryable.append(reply)
                    outstanding.remove(reply["seq"])
                    resend.appendleft(reply["seq"])
                else:
                    self.unexpected.append(reply)
                    return
            self.ended = "stopped"
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else None
            self.ended = "closed"
        except Exception as error:  # noqa: BLE001 - e.g. a reset socket after kill -9
            self.ended = repr(error)
        finally:
            device.ws.close()


def device_last_seqs(hub):
    """lastSeq per device from `telehub device list --json` (works with or without a server)."""
    return {d["name"]: d["lastSeq"] for d in json.loads(hub.cli("device", "list", "--json").stdout)}


def check_exactly_the_committed_rows(hub, logs, last_seqs):
    for log in logs:
        last_seq = last_seqs[log.name]
        assert last_seq >= log.acked, f"{log.name}: stored lastSeq {last_seq} < acknowledged {log.acked}"
        expected = log.rows_up_to(last_seq)
        acked_rows = log.rows_up_to(log.acked)
        stored = stored_readings(hub, log.name)
        lost = set(acked_rows) - set(stored)
        assert not lost, f"{log.name}: {len(lost)} acknowledged readings lost, e.g. {sorted(lost)[:3]}"
        extra = set(stored) - set(expected)
        assert not extra, f"{log.name}: {len(extra)} readings of messages above lastSeq {last_seq} stored"
        assert stored == expected, f"{log.name}: stored values differ from those sent"
        count = len(exported(hub, log.name))
        assert count == len(expected), f"{log.name}: {count} rows for {len(expected)} distinct readings"


# ---------------------------------------------------------------------------
# SIGTERM


def sigterm_under_load(hub_factory):
    """Three devices stream batches (four in flight each) and an SSE client
    watches; once every device has several acks, SIGTERM. Returns what each
    side saw, and the exit status and time."""
    hub = hub_factory(*LOAD_ARGS).start()
    t0 = now_ms() - 6 * 3_600_000
    logs = [DeviceLog(f"load-{i}", hub.device_token(f"load-{i}"), t0) for i in range(3)]
    reader = hub.read_token()
    stream_end = {}

    def watch_stream():
        with event_stream(hub, reader, read_timeout=10) as stream:
            stream_end["first"] = stream.next().event
            stream_end["rest"] = len(stream.rest())
            stream_end["at"] = time.monotonic()

    watcher = threading.Thread(target=watch_stream, daemon=True)
    watcher.start()
    # The stream must be open before SIGTERM: acks come within milliseconds.
    wait_for(lambda: "first" in stream_end, timeout=10, message="the SSE stream's snapshot")
    streamers = [Streamer(hub, log) for log in logs]
    for streamer in streamers:
        streamer.start()
    wait_for(lambda: all(len(s.acks) >= 5 for s in streamers) or any(s.ended for s in streamers), timeout=15,
             message="every device has several acks")
    assert not any(s.ended for s in streamers), [s.ended for s in streamers]

    started = time.monotonic()
    code = hub.stop(timeout=10)
    elapsed = time.monotonic() - started
    for streamer in streamers:
        streamer.join(timeout=10)
    watcher.join(timeout=10)
    stream_end["after_sigterm"] = stream_end["at"] - started if "at" in stream_end else None
    return hub, logs, streamers, code, elapsed, stream_end


def test_sigterm_under_load_closes_1001_exits_0_and_loses_nothing(hub_factory):
    hub, logs, streamers, code, elapsed, stream_end = sigterm_under_load(hub_factory)
    assert code == 0, f"exit status {code} after SIGTERM"
    assert elapsed < 5, f"SIGTERM took {elapsed:.2f} s to stop the hub"
    last_seqs = device_last_seqs(hub)  # the CLI, on the database the hub left
    check_exactly_the_committed_rows(hub, logs, last_seqs)
    for streamer in streamers:
        name = streamer.log.name
        assert not streamer.unexpected, (name, streamer.unexpected)
        assert streamer.ended == "closed", (name, streamer.ended)
        assert streamer.close_code == 1001, (
            f"{name}: close code {streamer.close_code} (None: no close frame arrived), expected 1001")
    assert stream_end.get("first") == "snapshot", stream_end
    assert stream_end["after_sigterm"] is not None and stream_end["after_sigterm"] < 5, "the SSE stream did not end"

    # The next run resumes where the devices stopped.
    hub.start()
    for log in logs:
        with open_device(hub, log.token) as device:
            assert device.hello["lastSeq"] == last_seqs[log.name]


def test_sigterm_sends_the_acks_that_are_due_before_closing(hub_factory):
    """Whatever the hub committed before it closed a device's socket, it
    acknowledged on that socket first: no committed message is left unacked."""
    hub, logs, streamers, code, _, _ = sigterm_under_load(hub_factory)
    assert code == 0
    last_seqs = device_last_seqs(hub)
    unacked = {
        s.log.name: (s.acks[-1] if s.acks else 0, last_seqs[s.log.name])
        for s in streamers if (s.acks[-1] if s.acks else 0) != last_seqs[s.log.name]
    }
    assert not unacked, f"device: (last ack received, stored lastSeq): {unacked}"


# ---------------------------------------------------------------------------
# kill -9, ten times


def test_crash_loop_kill9_ten_times_keeps_every_acked_reading_once(hub_factory):
    seed = int(os.environ.get("TELEHUB_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    hub = hub_factory(*LOAD_ARGS)
    t0 = now_ms() - 6 * 3_600_000
    logs = [DeviceLog(f"crash-{i}", hub.device_token(f"crash-{i}"), t0) for i in range(3)]
    acks_per_round = []
    for round_ in range(10):
        hub.start()
        acked_before = {log.name: log.acked for log in logs}
        streamers = [Streamer(hub, log) for log in logs]
        for streamer in streamers:
            streamer.start()
        wait_for(lambda: all(s.hello_last_seq is not None or s.ended for s in streamers), timeout=10,
                 message="devices connected")
        for streamer in streamers:
            assert streamer.hello_last_seq is not None, (seed, round_, streamer.ended)
            # Acknowledged before the last crash means durable now.
            assert streamer.hello_last_seq >= acked_before[streamer.log.name], (
                f"seed {seed} round {round_}: {streamer.log.name} hello.lastSeq {streamer.hello_last_seq} "
                f"below an ack received before the crash"
            )
        time.sleep(rng.uniform(0.05, 0.6))  # the random moment
        hub.kill9()
        for streamer in streamers:
            streamer.join(timeout=15)
            assert not streamer.is_alive(), f"seed {seed}: a device thread hung after kill -9"
            assert not streamer.unexpected, (seed, round_, streamer.unexpected)
        acks_per_round.append(sum(len(s.acks) for s in streamers))

    hub.start()
    last_seqs = {}
    for log in logs:
        with open_device(hub, log.token) as device:
            last_seqs[log.name] = device.hello["lastSeq"]
    print(f"crash loop seed {seed}: acks per round {acks_per_round}")
    assert sum(acks_per_round) > 0, "no message was ever acknowledged: the test proved nothing"
    assert last_seqs == device_last_seqs(hub)
    check_exactly_the_committed_rows(hub, logs, last_seqs)
