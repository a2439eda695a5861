"""The ports the use cases need, one short Protocol per concern, in domain terms. The
DynamoDB adapters (realtime/adapters/dynamodb/) implement the stores, tests/memory.py an
in-memory twin; tests/contract/ runs one suite against both, so they cannot drift."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from realtime.domain.lifecycle import LifecycleEvent
from realtime.domain.models import (
    Appended,
    Connection,
    Counts,
    Envelope,
    FanoutResult,
    FanoutSlice,
    GroupState,
    HistoryPage,
    JoinOutcome,
    Member,
    MessageProgress,
    Removal,
    SliceProgress,
)

M = TypeVar("M", bound=BaseModel)


class Connections(Protocol):
    def add(self, connection: Connection, groups: list[str]) -> list[str]:
        """Record a new connection, member of `groups`; counts follow. Returns the groups
        it made occupied (first member) when occupancy is tracked."""

    def get(self, connection_id: str) -> Connection | None: ...

    def remove(self, connection_id: str) -> Removal | None:
        """Remove the connection and all its memberships; return who it was and the groups
        it left, or None when it was already gone (so counts are never decremented twice)."""

    def refresh(self, current: Connection, updated: Connection) -> bool:
        """Replace its roles, token expiry and sweep time; False when it no longer exists."""

    def groups_of(self, connection_id: str) -> list[str]: ...

    def of_user(self, user_id: str) -> Iterator[list[str]]:
        """The connection ids of one user, a page at a time."""

    def due(self, now: datetime) -> Iterator[str]:
        """Connections whose sweep time has passed and that were never removed."""

    def count(self) -> int: ...


class Memberships(Protocol):
    def join(self, connection: Connection, group: str, state: GroupState, *, replaying: bool) -> JoinOutcome | None:
        """Join, receiving every seq after `state.seq`, if the group is still at it (and its
        occupancy is still as read). "joined"; "occupied": joined as the first member;
        "member": already one; None: the group moved on (read it again).
        Raises ConnectionGone when the connection does not exist."""

    def go_live(self, connection_id: str, group: str, last_sent: int) -> bool:
        """End a replay at `last_sent`; False when newer messages must be replayed first."""

    def leave(self, connection_id: str, group: str) -> bool:
        """False when it was not a member."""

    def members(
        self, group: str, shard: int | None = None, after: str | None = None, *, shards: int | None = None
    ) -> Iterator[list[Member]]:
        """The members of one shard (None: every one of the group's `shards`, read if not
        given), one page at a time, in connection-id order after `after`."""

    def users(self, group: str, limit: int | None = None) -> list[str]:
        """Distinct users with at least one connection in the group."""

    def counts(self, groups: list[str]) -> Counts: ...

    def mark_vacated(self, group: str) -> bool:
        """After a leave: True when this call found the group empty and flipped it to vacated."""


class Streams(Protocol):
    """Each group's (or targeted user's) sequence and its history."""

    def state(self, group: str) -> GroupState: ...

    def append(
        self,
        group: str,
        build: Callable[[int, str], Envelope],
        *,
        history_ttl: int,
        history_limit: int,
        now: datetime,
        queue_above: int | None = None,
    ) -> Appended:
        """Atomically allocate the next seq and store the message built for it; with
        `queue_above`, decide whether its fan-out is queued (and record its progress)."""

    def history(self, group: str, after: int, limit: int, now: datetime) -> HistoryPage:
        """Up to `limit` stored messages after `after`, in seq order; unreadable ones skipped."""


class LatestValues(Protocol):
    def save(self, envelope: Envelope) -> None:
        """Keep the last envelope of each event type (the platform snapshot)."""

    def all(self) -> dict[str, Envelope]: ...


class FanoutProgress(Protocol):
    def slice_progress(self, message_id: str, shard: int) -> SliceProgress: ...

    def checkpoint_slice(
        self,
        message_id: str,
        shard: int,
        previous: SliceProgress,
        after: str | None,
        result: FanoutResult,
        *,
        done: bool,
    ) -> bool:
        """Record a delivered page; False when another worker moved the slice on."""

    def complete_slice(self, message_id: str, shard: int, group: str) -> bool:
        """Idempotent; True when this call finished the whole message."""

    def abandon_message(self, message_id: str, group: str) -> None: ...

    def message_progress(self, message_id: str) -> MessageProgress | None: ...


class ReplayBudget(Protocol):
    def charge(
        self, connection_id: str, window: int, messages: int, *, max_messages: int, max_bytes: int
    ) -> int | None:
        """Count `messages` replayed in minute `window` on the connection, within the
        limits; the bytes still allowed in that window, or None when refused."""

    def add_bytes(self, connection_id: str, window: int, sent: int) -> None:
        """Count the bytes a replay sent (after it)."""


class Sender(Protocol):
    def send(self, connection_id: str, payload: bytes) -> None:
        """Deliver one frame. Raises ConnectionGone (410), RetryableError (429, 5xx,
        network) or SendFailed (anything retrying will not fix)."""

    def close(self, connection_id: str) -> None:
        """Close the connection at API Gateway (DELETE @connections). Raises ConnectionGone
        when it is already closed, RetryableError or SendFailed like `send`."""


class FanoutQueue(Protocol):
    def enqueue(self, slices: list[FanoutSlice]) -> None:
        """Queue every slice (deduplicated by message and shard), or raise ServiceUnavailable."""


class LifecycleNotifier(Protocol):
    def notify(self, events: list[LifecycleEvent]) -> None:
        """Put lifecycle events on the bus. Best effort: never raises (a failure is logged
        and counted), because a lost notification must not fail a connect or a delivery."""


class Idempotency(Protocol):
    def run(
        self,
        key: str | None,
        scope: tuple[str, ...],
        request: Any,
        compute: Callable[[], M],
        result: type[M],
        invocation: Any = None,
    ) -> M:
        """compute() once per (scope, key) — scope is (face, caller); the stored first
        answer (a `result`) for a repeat; Conflict when the key comes back with a different
        request. `invocation` is the Lambda context (an in-progress record expires with it)."""


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...
