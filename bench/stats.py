"""Percentiles and the result records the report prints and saves."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Latency:
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        if not seconds:
            raise ValueError("no samples")
        millis = sorted(value * 1000 for value in seconds)
        if len(millis) == 1:
            return cls(1, millis[0], millis[0], millis[0])
        cuts = statistics.quantiles(millis, n=100, method="inclusive")
        return cls(len(millis), round(cuts[49], 2), round(cuts[98], 2), round(millis[-1], 2))


@dataclass(frozen=True)
class Throughput:
    subscribers: int
    publishes: int
    deliveries: int
    seconds: float

    @property
    def per_second(self) -> float:
        return round(self.deliveries / self.seconds, 1) if self.seconds else 0.0
