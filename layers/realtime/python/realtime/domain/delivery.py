"""Deliver frames: to one connection (a reply), to many with bounded parallelism (a
fan-out), and close connections — each call retried the same way.

Throttling and 5xx are retried with capped exponential backoff and equal jitter (half the
ceiling, plus a random share of the other half: a throttled connection always waits a
little); 410 Gone is reported so the caller can remove the connection; whatever still
fails after every attempt is counted as failed (and logged), never silently dropped.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from enum import Enum

from realtime.domain.models import FanoutResult
from realtime.domain.ports import Clock, Sender
from realtime.errors import ConnectionGone, RetryableError, SendFailed

BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 1.0


class Outcome(Enum):
    DELIVERED = "delivered"
    GONE = "gone"
    FAILED = "failed"


def send_with_retry(sender: Sender, clock: Clock, connection_id: str, payload: bytes, max_attempts: int) -> Outcome:
    return _with_retry(lambda: sender.send(connection_id, payload), clock, max_attempts)


def close_with_retry(sender: Sender, clock: Clock, connection_id: str, max_attempts: int) -> Outcome:
    """DELETE @connections, retried like a delivery; GONE when it was closed already."""
    return _with_retry(lambda: sender.close(connection_id), clock, max_attempts)


def _with_retry(call: Callable[[], None], clock: Clock, max_attempts: int) -> Outcome:
    for attempt in range(max_attempts):
        try:
            call()
            return Outcome.DELIVERED
        except ConnectionGone:
            return Outcome.GONE
        except SendFailed:
            return Outcome.FAILED
        except RetryableError:
            if attempt + 1 < max_attempts:
                ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
                clock.sleep(random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter, not crypto
    return Outcome.FAILED


class PendingFanout:
    """A fan-out's sends, in flight on the pool; `result()` waits for them and counts."""

    def __init__(self, futures: list[tuple[str, Future[Outcome]]]) -> None:
        self._futures = futures

    def result(self) -> FanoutResult:
        result = FanoutResult(recipients=len(self._futures))
        for connection_id, future in self._futures:
            outcome = future.result()
            if outcome is Outcome.DELIVERED:
                result.delivered += 1
            elif outcome is Outcome.GONE:
                result.gone_connection_ids.append(connection_id)
            else:
                result.failed += 1
        return result


def start_fan_out(
    pages: Iterable[list[str]],
    payload: bytes,
    *,
    sender: Sender,
    clock: Clock,
    executor: Executor,
    max_attempts: int,
) -> PendingFanout:
    """Queue a send of `payload` to every connection id in `pages` on the pool (reading the
    next page while the previous one is being delivered) and return without waiting."""
    futures: list[tuple[str, Future[Outcome]]] = []
    for page in pages:
        for connection_id in page:
            future = executor.submit(send_with_retry, sender, clock, connection_id, payload, max_attempts)
            futures.append((connection_id, future))
    return PendingFanout(futures)


def fan_out(
    pages: Iterable[list[str]],
    payload: bytes,
    *,
    sender: Sender,
    clock: Clock,
    executor: Executor,
    max_attempts: int,
) -> FanoutResult:
    """Send `payload` to every connection id in `pages` and wait for every send."""
    pending = start_fan_out(pages, payload, sender=sender, clock=clock, executor=executor, max_attempts=max_attempts)
    return pending.result()


class Delivery:
    """The Sender with the retry policy and the fan-out pool."""

    def __init__(self, sender: Sender, clock: Clock, executor: Executor, max_attempts: int) -> None:
        self.sender = sender
        self.clock = clock
        self.executor = executor
        self.max_attempts = max_attempts

    def send(self, connection_id: str, payload: bytes) -> Outcome:
        return send_with_retry(self.sender, self.clock, connection_id, payload, self.max_attempts)

    def close(self, connection_id: str) -> Outcome:
        return close_with_retry(self.sender, self.clock, connection_id, self.max_attempts)

    def fan_out(self, pages: Iterable[list[str]], payload: bytes) -> FanoutResult:
        return self.start(pages, payload).result()

    def start(self, pages: Iterable[list[str]], payload: bytes) -> PendingFanout:
        """The sends queued on the pool, not waited for: a caller can read its next page
        (and queue it behind these) while they are delivered."""
        return start_fan_out(
            pages, payload, sender=self.sender, clock=self.clock, executor=self.executor, max_attempts=self.max_attempts
        )
