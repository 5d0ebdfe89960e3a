"""Backoff, jitter and the token bucket: statistical, but deterministic (seeded)."""
import asyncio
import random
import statistics
import time

from conftest import run
from telehub_device import Backoff, TelehubDevice, TokenBucket


def test_backoff_ceiling_doubles_up_to_the_cap():
    backoff = Backoff(base=0.5, cap=30.0)
    assert [backoff.ceiling(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.ceiling(10_000) == 30  # no overflow after days of failures


def test_backoff_delays_stay_within_zero_and_the_ceiling():
    backoff = Backoff(base=0.5, cap=30.0, rng=random.Random(1))
    for attempt in range(12):
        ceiling = backoff.ceiling(attempt)
        samples = [backoff.delay(attempt) for _ in range(2000)]
        assert all(0 <= s <= ceiling for s in samples)
        # Full jitter uses the whole range, not just the top of it.
        assert min(samples) < 0.02 * ceiling and max(samples) > 0.98 * ceiling


def test_full_jitter_spreads_delays_uniformly():
    backoff = Backoff(base=0.5, cap=30.0, rng=random.Random(20241122))
    samples = [backoff.delay(8) for _ in range(20_000)]  # ceiling 30 s
    assert abs(statistics.fmean(samples) - 15.0) < 0.3
    assert abs(statistics.pstdev(samples) - 30.0 / 12 ** 0.5) < 0.3
    # Each tenth of the range gets about a tenth of the delays: clients that lost
    # the hub together come back spread out, not in a herd.
    deciles = [0] * 10
    for s in samples:
        deciles[min(9, int(s / 3.0))] += 1
    assert all(abs(count / len(samples) - 0.1) < 0.015 for count in deciles), deciles


def test_the_same_seed_gives_the_same_delays():
    a = Backoff(rng=random.Random(7))
    b = Backoff(rng=random.Random(7))
    assert [a.delay(n % 8) for n in range(100)] == [b.delay(n % 8) for n in range(100)]


class _ScriptedDevice(TelehubDevice):
    """The reconnect loop with its connection replaced by a script: each entry
    is how long the connection stayed up (None: it never came up)."""

    def __init__(self, tmp_path, script, **kwargs):
        super().__init__("ws://unused", "thd_unused", str(tmp_path / "b.sqlite"), **kwargs)
        self.script = list(script)
        self.attempts = []
        backoff = self.backoff

        def delay(attempt):
            self.attempts.append(attempt)
            return 0.0

        backoff.delay = delay

    async def _connect_once(self):
        if not self.script:
            self._stopping = True
            return None
        uptime = self.script.pop(0)
        return None if uptime is None else time.monotonic() - uptime


def test_attempts_grow_on_failures_and_reset_after_a_stable_connection(tmp_path):
    states = []
    device = _ScriptedDevice(tmp_path, [None, None, 1.0, None, 31.0, None, 45.0], stable_after=30.0,
                             on_state=states.append)
    run(device.run(), timeout=5)
    # A connection that lasted 1 s does not reset (a flapping link keeps backing off);
    # one that lasted at least `stable_after` does.
    assert device.attempts == [0, 1, 2, 3, 0, 1, 0]
    assert device.reconnects == 7
    assert states[:3] == ["connecting", "backing_off", "connecting"]
    assert states[-1] == "stopped"
    device.close()


def test_token_bucket_paces_to_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=1000, capacity=1000, clock=lambda: now[0])
    assert bucket.delay() == 0
    bucket.charge(1000)             # a full burst
    assert abs(bucket.delay() - 0.001) < 1e-9
    bucket.charge(99)               # a message may overdraw; the next one waits it out
    assert abs(bucket.delay() - 0.1) < 1e-9
    now[0] += 0.1
    assert bucket.delay() == 0
    now[0] += 100                   # refills to capacity, no more
    bucket.charge(1000)
    assert bucket.delay() > 0


def test_token_bucket_sustained_rate():
    async def measure():
        bucket = TokenBucket(rate=2000, capacity=100)
        bucket.charge(100)  # start empty
        started, sent = time.monotonic(), 0
        while sent < 1000:
            await bucket.wait()
            bucket.charge(50)
            sent += 50
        return sent / (time.monotonic() - started)

    rate = asyncio.run(measure())
    assert 1500 < rate < 2300, rate


def test_no_rate_means_no_pacing():
    bucket = TokenBucket(rate=None)
    bucket.charge(10**9)
    assert bucket.delay() == 0
