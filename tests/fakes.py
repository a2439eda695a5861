"""Fakes of the domain's ports: they record what happened, so tests assert behaviour."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from realtime.domain.models import Connection, Counts, Envelope
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


class FakeRepository:
    """An in-memory ConnectionRepository with the same contract as the DynamoDB one."""

    def __init__(self, page_size: int = 2) -> None:
        self.connections: dict[str, Connection] = {}
        self.members: dict[str, dict[str, str]] = defaultdict(dict)  # group -> {connection id: user}
        self.seqs: dict[str, int] = defaultdict(int)
        self.latest_by_type: dict[str, Envelope] = {}
        self.page_size = page_size
        self._lock = threading.Lock()

    def add_connection(self, connection: Connection, groups: list[str]) -> None:
        with self._lock:
            self.connections[connection.connection_id] = connection
            for group in groups:
                self.members[group][connection.connection_id] = connection.user_id

    def get_connection(self, connection_id: str) -> Connection | None:
        return self.connections.get(connection_id)

    def remove_connection(self, connection_id: str) -> list[str] | None:
        with self._lock:
            if self.connections.pop(connection_id, None) is None:
                return None
            left = [group for group, members in self.members.items() if members.pop(connection_id, None)]
            return sorted(left)

    def subscribe(self, connection: Connection, group: str) -> bool:
        with self._lock:
            if connection.connection_id not in self.connections:
                raise ConnectionGone(connection.connection_id)
            if connection.connection_id in self.members[group]:
                return False
            self.members[group][connection.connection_id] = connection.user_id
            return True

    def unsubscribe(self, connection_id: str, group: str) -> bool:
        with self._lock:
            return self.members[group].pop(connection_id, None) is not None

    def member_pages(self, group: str) -> Iterator[list[str]]:
        ids = sorted(self.members[group])
        for start in range(0, len(ids), self.page_size):
            yield ids[start : start + self.page_size]

    def next_seq(self, group: str) -> int:
        with self._lock:
            self.seqs[group] += 1
            return self.seqs[group]

    def last_seq(self, group: str) -> int:
        return self.seqs[group]

    def counts(self, groups: list[str]) -> Counts:
        return Counts(
            connections=len(self.connections), groups={group: len(self.members[group]) for group in groups}
        )

    def connection_count(self) -> int:
        return len(self.connections)

    def save_latest(self, envelope: Envelope) -> None:
        current = self.latest_by_type.get(envelope.type)
        if current is None or current.group != envelope.group or current.seq < envelope.seq:
            self.latest_by_type[envelope.type] = envelope

    def latest(self) -> dict[str, Envelope]:
        return dict(self.latest_by_type)


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
