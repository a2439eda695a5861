"""The one retry loop for optimistic writes (a condition on what was read, and read again
when another writer won), used by the DynamoDB stores and the subscribe use case alike.

Each lost race means another writer succeeded, so the loop is bounded by rounds rather than
by time alone; and never longer than well inside API Gateway's 29 s. The backoff is full
jitter below a cap that doubles from 5 ms to 100 ms.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from realtime.errors import ServiceUnavailable

T = TypeVar("T")

CONFLICT_ROUNDS = 64
CONFLICT_BUDGET_SECONDS = 20.0
_BACKOFF_BASE, _BACKOFF_CAP = 0.005, 0.1


class LostRace:
    """What an optimistic attempt returns when a concurrent writer changed what it read."""


LOST_RACE = LostRace()


def optimistic(
    attempt: Callable[[], T | LostRace],
    what: str,
    *,
    rounds: int = CONFLICT_ROUNDS,
    budget: float = CONFLICT_BUDGET_SECONDS,
) -> T:
    """The one retry loop for optimistic writes: run `attempt` until it returns anything
    but LOST_RACE (read again and retry), at most `rounds` times and `budget` seconds, with
    full-jitter backoff; then ServiceUnavailable (nothing was written: retry later)."""
    deadline = time.monotonic() + budget
    for round_ in range(rounds):
        result = attempt()
        if not isinstance(result, LostRace):
            return result
        if time.monotonic() >= deadline:
            break
        ceiling = min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** min(round_, 10))
        time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not crypto
    raise ServiceUnavailable(f"could not {what}: too many concurrent changes; retry later")
