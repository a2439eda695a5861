"""The stores in memory: every port realtime.adapters.dynamodb implements, with the same
semantics (conditions, exact counts, shards, TTL-hidden history, idempotent removal), so
domain tests run without moto. tests/contract/ runs one suite against both, so this twin
cannot drift from the real thing.

Each method is atomic (one lock), as each DynamoDB request is; the optimistic races the
real stores can lose are reproduced where the domain handles them (a join or a replay
that finds the group moved on)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from realtime.adapters.dynamodb.keys import SWEEP_BUCKET, sweep_bucket
from realtime.adapters.dynamodb.memberships import MEMBER_PAGE, Placement
from realtime.adapters.dynamodb.table import TTL_GRACE
from realtime.domain.models import (
    Appended,
    Connection,
    Counts,
    Envelope,
    FanoutResult,
    GroupState,
    HistoryPage,
    JoinOutcome,
    Member,
    MessageProgress,
    Removal,
    SliceProgress,
)
from realtime.errors import ConnectionGone


@dataclass
class _Member:
    user_id: str
    live_after: int | None
    replaying: bool


@dataclass
class _Group:
    seq: int = 0
    epoch: str = ""
    members: int = 0
    shards: int = 1
    pending: int = 0
    occupied: bool = False

    def state(self) -> GroupState:
        return GroupState(
            seq=self.seq,
            epoch=self.epoch,
            members=self.members,
            shards=self.shards,
            pending=self.pending,
            occupied=self.occupied,
        )


@dataclass
class _Message:
    group: str
    seq: int
    recipients: int
    slices: int
    status: str = "queued"
    done_slices: set[int] = field(default_factory=set)
    delivered: int = 0
    gone: int = 0
    failed: int = 0


@dataclass
class _Slice:
    last_done: str | None = None
    done: bool = False


class MemoryStores:
    """connections, memberships, streams, latest, progress and replay_budget in one."""

    def __init__(self, *, shard_size: int = 1000, track_occupancy: bool = False) -> None:
        self.shard_size = shard_size
        self.track_occupancy = track_occupancy
        self._lock = threading.RLock()
        self._connections: dict[str, Connection] = {}
        self._mirrors: dict[str, dict[str, int]] = {}  # connection -> group -> shard
        self._members: dict[tuple[str, int], dict[str, _Member]] = {}
        self._groups: dict[str, _Group] = {}
        self._users: dict[tuple[str, str], int] = {}  # (group, user) -> connections
        self._by_user: dict[str, set[str]] = {}
        self._sweep: dict[datetime, set[str]] = {}
        self._cursor: datetime | None = None
        self._stats = 0
        self._history: dict[str, dict[int, tuple[str, int]]] = {}  # group -> seq -> (envelope, ttl)
        self._latest: dict[str, tuple[str, int, str]] = {}  # type -> (source, seq, envelope)
        self._messages: dict[str, _Message] = {}
        self._slices: dict[tuple[str, int], _Slice] = {}
        self._replays: dict[str, tuple[int, int, int]] = {}  # connection -> (window, messages, bytes)

    # -- the ports, by name (the Ports of realtime.bootstrap take them one by one) ------------

    @property
    def connections(self) -> MemoryStores:
        return self

    memberships = streams = latest = progress = replay_budget = connections

    # -- Connections ----------------------------------------------------------------------

    def add(self, connection: Connection, groups: list[str]) -> list[str]:
        with self._lock:
            cid = connection.connection_id
            if cid in self._connections:
                raise ValueError(f"connection {cid} exists")
            self._connections[cid] = connection
            self._by_user.setdefault(connection.user_id, set()).add(cid)
            self._sweep.setdefault(_bucket(connection), set()).add(cid)
            self._stats += 1
            occupied = []
            for group in groups:
                state = self._group(group).state()
                self._place(connection, group, state, live_after=None, replaying=False)
                if self.track_occupancy and not state.occupied:
                    occupied.append(group)
            return occupied

    def get(self, connection_id: str) -> Connection | None:
        with self._lock:
            return self._connections.get(connection_id)

    def remove(self, connection_id: str) -> Removal | None:
        with self._lock:
            connection = self._connections.pop(connection_id, None)
            if connection is None:
                return None
            self._by_user.get(connection.user_id, set()).discard(connection_id)
            self._sweep.get(_bucket(connection), set()).discard(connection_id)
            self._stats -= 1
            groups = sorted(self._mirrors.get(connection_id, {}))
            for group in groups:
                self._unplace(connection_id, group)
            self._mirrors.pop(connection_id, None)
            return Removal(connection_id=connection_id, user_id=connection.user_id, groups=groups)

    def refresh(self, current: Connection, updated: Connection) -> bool:
        with self._lock:
            cid = current.connection_id
            stored = self._connections.get(cid)
            if stored is None:
                return False
            self._sweep.get(_bucket(stored), set()).discard(cid)
            self._connections[cid] = stored.model_copy(
                update={
                    "roles": updated.roles,
                    "token_expires_at": updated.token_expires_at,
                    "sweep_at": updated.sweep_at,
                }
            )
            self._sweep.setdefault(_bucket(self._connections[cid]), set()).add(cid)
            return True

    def groups_of(self, connection_id: str) -> list[str]:
        with self._lock:
            return sorted(self._mirrors.get(connection_id, {}))

    def of_user(self, user_id: str) -> Iterator[list[str]]:
        with self._lock:
            page = sorted(self._by_user.get(user_id, set()))
        if page:
            yield page

    def due(self, now: datetime) -> Iterator[str]:
        with self._lock:
            bucket = self._cursor + SWEEP_BUCKET if self._cursor else sweep_bucket(now) - TTL_GRACE
        while bucket < sweep_bucket(now):
            with self._lock:
                due = sorted(self._sweep.get(bucket, set()))
            yield from due
            with self._lock:
                self._cursor = bucket
            bucket += SWEEP_BUCKET

    def count(self) -> int:
        with self._lock:
            return self._stats

    # -- Memberships ----------------------------------------------------------------------

    def join(self, connection: Connection, group: str, state: GroupState, *, replaying: bool) -> JoinOutcome | None:
        with self._lock:
            cid = connection.connection_id
            if cid not in self._connections:
                raise ConnectionGone(cid)
            if group in self._mirrors.get(cid, {}):
                return "member"
            current = self._group(group)
            placement = Placement(state, cid, self.shard_size)
            if current.seq != state.seq:
                return None  # a publish moved the group on
            if placement.grow_to is not None and current.shards > placement.grow_to:
                return None
            if self.track_occupancy and current.occupied != state.occupied:
                return None
            self._place(connection, group, state, live_after=state.seq, replaying=replaying)
            return "occupied" if self.track_occupancy and not state.occupied else "joined"

    def go_live(self, connection_id: str, group: str, last_sent: int) -> bool:
        with self._lock:
            shard = self._mirrors.get(connection_id, {}).get(group)
            if shard is None:
                return True
            if self._group(group).seq != last_sent:
                return False
            member = self._members.get((group, shard), {}).get(connection_id)
            if member is not None:
                member.live_after, member.replaying = last_sent, False
            return True

    def leave(self, connection_id: str, group: str) -> bool:
        with self._lock:
            if group not in self._mirrors.get(connection_id, {}):
                return False
            self._unplace(connection_id, group)
            return True

    def members(
        self, group: str, shard: int | None = None, after: str | None = None, *, shards: int | None = None
    ) -> Iterator[list[Member]]:
        with self._lock:
            count = self._group(group).shards if shards is None else shards
        for index in range(shard, shard + 1) if shard is not None else range(count):
            with self._lock:
                found = sorted(self._members.get((group, index), {}).items())
            rows = [
                Member(connection_id=cid, live_after=m.live_after, replaying=m.replaying)
                for cid, m in found
                if after is None or cid > after
            ]
            for start in range(0, len(rows), MEMBER_PAGE):
                yield rows[start : start + MEMBER_PAGE]

    def users(self, group: str, limit: int | None = None) -> list[str]:
        with self._lock:
            users = sorted(user for (g, user), n in self._users.items() if g == group and n > 0)
        return users if limit is None else users[: limit + 1]

    def counts(self, groups: list[str]) -> Counts:
        with self._lock:
            return Counts(connections=self._stats, groups={g: self._group(g).members for g in groups})

    def mark_vacated(self, group: str) -> bool:
        with self._lock:
            current = self._group(group)
            if current.occupied and current.members <= 0:
                current.occupied = False
                return True
            return False

    # -- Streams ------------------------------------------------------------------------------

    def state(self, group: str) -> GroupState:
        with self._lock:
            current = self._group(group)
            if not current.epoch:
                current.epoch = uuid.uuid4().hex[:12]
            return current.state()

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
        with self._lock:
            current = self._group(group)
            if not current.epoch:
                current.epoch = uuid.uuid4().hex[:12]
            state = current.state()
            envelope = build(state.seq + 1, state.epoch)
            queued = queue_above is not None and (state.members > queue_above or state.pending > 0)
            current.seq = envelope.seq
            history = self._history.setdefault(group, {})
            history[envelope.seq] = (envelope.to_json(), int(now.timestamp()) + history_ttl)
            history.pop(envelope.seq - history_limit, None)
            if queued:
                current.pending += 1
                self._messages[envelope.id] = _Message(
                    group=group, seq=envelope.seq, recipients=state.members, slices=state.shards
                )
            return Appended(envelope=envelope, recipients=state.members, shards=state.shards, queued=queued)

    def history(self, group: str, after: int, limit: int, now: datetime) -> HistoryPage:
        with self._lock:
            stored = sorted(
                (seq, raw)
                for seq, (raw, ttl) in self._history.get(group, {}).items()
                if seq > after and ttl > now.timestamp()
            )
        entries: list[tuple[int, Envelope | None]] = [(seq, _readable(raw)) for seq, raw in stored[: limit + 1]]
        more, entries = len(entries) > limit, entries[:limit]
        return HistoryPage(
            items=[envelope for _, envelope in entries if envelope is not None],
            more=more,
            first_seq=entries[0][0] if entries else None,
            last_seq=entries[-1][0] if entries else None,
            skipped=[seq for seq, envelope in entries if envelope is None],
        )

    def corrupt(self, group: str, seq: int, raw: str) -> None:
        """Test hook: store something no reader can parse, as an older writer could have."""
        with self._lock:
            self._history.setdefault(group, {})[seq] = (raw, 2**40)

    # -- LatestValues ---------------------------------------------------------------------

    def save(self, envelope: Envelope) -> None:
        with self._lock:
            source = envelope.group or f"user:{envelope.user_id}"
            kept = self._latest.get(envelope.type)
            if kept is None or kept[0] != source or kept[1] < envelope.seq:
                self._latest[envelope.type] = (source, envelope.seq, envelope.to_json())

    def all(self) -> dict[str, Envelope]:
        with self._lock:
            return {name: Envelope.model_validate_json(raw) for name, (_, _, raw) in self._latest.items()}

    # -- FanoutProgress -------------------------------------------------------------------

    def slice_progress(self, message_id: str, shard: int) -> SliceProgress:
        with self._lock:
            found = self._slices.get((message_id, shard))
            return SliceProgress() if found is None else SliceProgress(after=found.last_done, done=found.done)

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
        with self._lock:
            found = self._slices.setdefault((message_id, shard), _Slice())
            if found.done or found.last_done != previous.after:
                return False
            if after is not None:
                found.last_done = after
            found.done = found.done or done
            message = self._messages.get(message_id)
            if message is not None:
                message.delivered += result.delivered
                message.gone += len(result.gone_connection_ids)
                message.failed += result.failed
            return True

    def complete_slice(self, message_id: str, shard: int, group: str) -> bool:
        with self._lock:
            message = self._messages.get(message_id)
            if message is None or shard in message.done_slices:
                return False
            message.done_slices.add(shard)
            last = len(message.done_slices) >= message.slices
            if last:
                message.status = "done"
                self._group(group).pending -= 1
            return last

    def abandon_message(self, message_id: str, group: str) -> None:
        with self._lock:
            message = self._messages.get(message_id)
            if message is not None and message.status == "queued":
                message.status = "failed"
                self._group(group).pending -= 1

    def message_progress(self, message_id: str) -> MessageProgress | None:
        with self._lock:
            message = self._messages.get(message_id)
            if message is None:
                return None
            return MessageProgress(
                id=message_id,
                group=message.group,
                seq=message.seq,
                status=message.status,
                recipients=message.recipients,
                delivered=message.delivered,
                gone=message.gone,
                failed=message.failed,
                slices=message.slices,
                slices_done=len(message.done_slices),
                done=len(message.done_slices) >= message.slices,
            )

    # -- ReplayBudget -----------------------------------------------------------------------

    def charge(
        self, connection_id: str, window: int, messages: int, *, max_messages: int, max_bytes: int
    ) -> int | None:
        with self._lock:
            if connection_id not in self._connections:
                return None
            used_window, used_messages, used_bytes = self._replays.get(connection_id, (-1, 0, 0))
            if used_window == window:
                if used_messages > max_messages - messages or used_bytes >= max_bytes:
                    return None
                self._replays[connection_id] = (window, used_messages + messages, used_bytes)
                return max(0, max_bytes - used_bytes)
            if used_window > window:
                return None
            self._replays[connection_id] = (window, messages, 0)
            return max_bytes

    def add_bytes(self, connection_id: str, window: int, sent: int) -> None:
        with self._lock:
            used = self._replays.get(connection_id)
            if connection_id in self._connections and used is not None and used[0] == window:
                self._replays[connection_id] = (window, used[1], used[2] + sent)

    # -- internals ------------------------------------------------------------------------

    def _group(self, group: str) -> _Group:
        return self._groups.setdefault(group, _Group())

    def _place(
        self, connection: Connection, group: str, state: GroupState, *, live_after: int | None, replaying: bool
    ) -> None:
        cid = connection.connection_id
        placement = Placement(state, cid, self.shard_size)
        current = self._group(group)
        if placement.grow_to is not None:
            current.shards = max(current.shards, placement.grow_to)
        self._members.setdefault((group, placement.shard), {})[cid] = _Member(connection.user_id, live_after, replaying)
        self._mirrors.setdefault(cid, {})[group] = placement.shard
        current.members += 1
        if self.track_occupancy:
            current.occupied = True
        key = (group, connection.user_id)
        self._users[key] = self._users.get(key, 0) + 1

    def _unplace(self, connection_id: str, group: str) -> None:
        shard = self._mirrors[connection_id].pop(group)
        member = self._members.get((group, shard), {}).pop(connection_id)
        self._group(group).members -= 1
        key = (group, member.user_id)
        self._users[key] = self._users.get(key, 0) - 1
        if self._users[key] <= 0:
            del self._users[key]


def _bucket(connection: Connection) -> datetime:
    return sweep_bucket(connection.sweep_at or connection.expires_at)


def _readable(raw: str) -> Envelope | None:
    try:
        return Envelope.model_validate_json(raw)
    except (ValueError, RecursionError):
        return None


def utc(year: int = 2026, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


ONE_DAY = timedelta(days=1)
