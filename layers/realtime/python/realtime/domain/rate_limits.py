"""Per-connection action rate limiting without a database write per frame.

A token bucket per connection id, kept in the execution environment's memory: each frame
takes one token; tokens come back at `rate` per second up to `burst`. API Gateway routes a
connection's frames to whichever environment is free, so the limit holds per environment
— a flooding client that keeps N environments busy gets at most N times the limit, and
API Gateway's stage throttling bounds the total. (Replays, which are costly, are counted
exactly, in the connection's item: see Subscriptions._charge_replay in domain/subscriptions.py.)
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

# Buckets kept per environment; the least recently used are forgotten first (a forgotten
# connection starts again with a full bucket, which only ever errs on the lenient side).
MAX_TRACKED_CONNECTIONS = 10_000


class ActionLimiter:
    def __init__(self, rate: float, burst: int, *, now: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._now = now
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # id -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, connection_id: str) -> float | None:
        """Take one token: None when allowed, else the seconds until one is back."""
        with self._lock:
            now = self._now()
            tokens, at = self._buckets.pop(connection_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[connection_id] = (tokens - 1.0 if allowed else tokens, now)
            while len(self._buckets) > MAX_TRACKED_CONNECTIONS:
                self._buckets.popitem(last=False)
            return None if allowed else (1.0 - tokens) / self.rate

    def forget(self, connection_id: str) -> None:
        with self._lock:
            self._buckets.pop(connection_id, None)
