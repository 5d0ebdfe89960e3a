"""Reconnect backoff with full jitter, and the token bucket that paces backfill."""
from __future__ import annotations

import asyncio
import random
import time
from typing import Optional


class Backoff:
    """Exponential backoff with full jitter: the delay before reconnect attempt
    n (0-based) is uniform in [0, min(cap, base * 2**n)]."""

    def __init__(self, base: float = 0.5, cap: float = 30.0, rng: Optional[random.Random] = None):
        self.base, self.cap = base, cap
        self.rng = rng or random.Random()

    def ceiling(self, attempt: int) -> float:
        return min(self.cap, self.base * 2 ** min(attempt, 60))

    def delay(self, attempt: int) -> float:
        return self.rng.uniform(0, self.ceiling(attempt))

    def delay_after_permanent_failure(self) -> float:
        """After a failure retrying soon cannot cure (a refused token, a wrong
        address): between half the cap and the cap, so a misconfigured fleet
        does not hammer the hub while someone fixes it."""
        return self.rng.uniform(self.cap / 2, self.cap)


class TokenBucket:
    """Paces what is put on the wire to `rate` readings/s with bursts of
    `capacity`. `wait()` returns once the bucket is not in debt; `charge(n)`
    takes n tokens (it may go negative, so a whole message is never split)."""

    def __init__(self, rate: Optional[float], capacity: Optional[float] = None, clock=time.monotonic):
        self.rate = rate if rate and rate > 0 else None
        self.capacity = capacity if capacity is not None else (self.rate or 0)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        if self.rate:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def delay(self) -> float:
        if not self.rate:
            return 0.0
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    async def wait(self) -> None:
        while (d := self.delay()) > 0:
            await asyncio.sleep(d)

    def charge(self, n: int) -> None:
        if self.rate:
            self._refill()
            self.tokens -= n
