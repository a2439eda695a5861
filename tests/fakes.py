"""Fakes of the domain's ports: they record what happened, so tests assert behaviour."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from realtime.errors import ConnectionGone, RetryableError, SendFailed


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 1, tzinfo=UTC)
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += timedelta(seconds=seconds)


class FakeSender:
    """Records every frame. `gone` ids answer 410; `throttle[id] = n` answers 429 n times;
    `broken` ids fail permanently."""

    def __init__(
        self,
        gone: Iterable[str] = (),
        throttle: dict[str, int] | None = None,
        broken: Iterable[str] = (),
    ) -> None:
        self.gone = set(gone)
        self.throttle = dict(throttle or {})
        self.broken = set(broken)
        self.sent: dict[str, list[bytes]] = defaultdict(list)
        self.attempts: dict[str, int] = defaultdict(int)
        self.closed: list[str] = []
        # Called after each delivered frame (outside the lock): lets a test publish "while"
        # a replay is in flight.
        self.after_send: Callable[[str, bytes], None] | None = None
        self._lock = threading.Lock()

    def send(self, connection_id: str, payload: bytes) -> None:
        with self._lock:
            self.attempts[connection_id] += 1
            if connection_id in self.gone:
                raise ConnectionGone(connection_id)
            if connection_id in self.broken:
                raise SendFailed("403 Forbidden")
            if self.throttle.get(connection_id, 0) > 0:
                self.throttle[connection_id] -= 1
                raise RetryableError("LimitExceededException")
            self.sent[connection_id].append(payload)
        if self.after_send is not None:
            self.after_send(connection_id, payload)

    def close(self, connection_id: str) -> None:
        """DELETE @connections: recorded in `closed`; a gone id answers 410, a `broken` one
        fails for good."""
        with self._lock:
            self.closed.append(connection_id)
            if connection_id in self.gone:
                raise ConnectionGone(connection_id)
            if connection_id in self.broken:
                raise SendFailed("403 Forbidden")


class OneRequestAtATime:
    """DynamoDB applies each request to an item atomically; moto does not under threads.
    This proxy restores that guarantee, and nothing more: a read-then-write allocation
    would still interleave between two requests and fail the test below."""

    def __init__(self, client: object) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> object:
        method = getattr(self._client, name)

        def call(*args: object, **kwargs: object) -> object:
            with self._lock:
                return method(*args, **kwargs)

        return call


class FakeIdempotency:
    """The Idempotency port in memory: same (scope, key) → the first answer."""

    def __init__(self) -> None:
        self.answers: dict[tuple[tuple[str, ...], str], tuple[object, dict]] = {}

    def run(
        self,
        key: str | None,
        caller: tuple[str, ...],
        request: object,
        compute: Callable[[], Any],
        result: type,
        invocation: object = None,
    ) -> Any:
        from realtime.errors import Conflict

        if key is None:
            return compute()
        if (caller, key) in self.answers:
            first_request, answer = self.answers[(caller, key)]
            if first_request != request:
                raise Conflict("this Idempotency-Key was already used with a different request")
            return answer
        answer = compute()
        self.answers[(caller, key)] = (request, answer)
        return answer


class FakeQueue:
    """The FanoutQueue port in memory: records slices; `fail` makes enqueue unavailable."""

    def __init__(self) -> None:
        from realtime.domain.models import FanoutSlice

        self.slices: list[FanoutSlice] = []
        self.fail = False

    def enqueue(self, slices: list) -> None:
        from realtime.errors import ServiceUnavailable

        if self.fail:
            raise ServiceUnavailable("the fan-out queue is unavailable; retry later")
        self.slices += slices

    def drain(self, hub: object) -> int:
        """Deliver every queued slice, oldest first, as the workers would; how many."""
        done = 0
        while self.slices:
            hub.slices.deliver(self.slices.pop(0))  # type: ignore[attr-defined]
            done += 1
        return done


class FakeNotifier:
    """The LifecycleNotifier port in memory: every lifecycle event, in order."""

    def __init__(self) -> None:
        self.events: list = []
        self._lock = threading.Lock()

    def notify(self, events: list) -> None:
        with self._lock:
            self.events += events

    def of(self, kind: type) -> list:
        return [event for event in self.events if isinstance(event, kind)]
