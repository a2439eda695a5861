"""The ports the domain needs. Real adapters live in realtime.adapters; tests pass fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from realtime.domain.models import Connection, Counts, Envelope


class ConnectionRepository(Protocol):
    def add_connection(self, connection: Connection, groups: list[str]) -> None:
        """Record a new connection, member of `groups`; counts follow."""

    def get_connection(self, connection_id: str) -> Connection | None: ...

    def remove_connection(self, connection_id: str) -> list[str] | None:
        """Remove the connection and all its memberships; return the groups it left,
        or None when it was already gone (so counts are never decremented twice)."""

    def subscribe(self, connection: Connection, group: str) -> bool:
        """Add a membership; False when already a member. Raises ConnectionGone when the
        connection does not exist (a race with $disconnect)."""

    def unsubscribe(self, connection_id: str, group: str) -> bool:
        """Remove a membership; False when it was not a member."""

    def member_pages(self, group: str) -> Iterator[list[str]]:
        """Connection ids of the group's members, one page (one Query) at a time."""

    def next_seq(self, group: str) -> int:
        """Atomically allocate the group's next sequence number (1 for the first)."""

    def last_seq(self, group: str) -> int: ...

    def counts(self, groups: list[str]) -> Counts: ...

    def connection_count(self) -> int: ...

    def save_latest(self, envelope: Envelope) -> None:
        """Keep the last envelope of each event type (the platform snapshot)."""

    def latest(self) -> dict[str, Envelope]: ...


class Sender(Protocol):
    def send(self, connection_id: str, payload: bytes) -> None:
        """Deliver one frame. Raises ConnectionGone (410), RetryableError (429, 5xx,
        network) or SendFailed (anything retrying will not fix)."""


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...
