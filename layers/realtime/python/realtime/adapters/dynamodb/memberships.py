"""Group memberships, membership shards, presence and counts (the Memberships port).

A membership is `MEM#g#k/CONN#id` (read by the fan-out, shard k) and its mirror
`CONN#id/GRP#g` (read by a disconnect; it records k). It carries the boundary of what the
publishers deliver to it: `liveAfter` (publishers deliver only seq > liveAfter) and
`replaying` (a resuming client whose missed messages are being replayed: publishers skip
it until it goes live). Distinct users per group are counted with one `GRP#g/USER#u` item
per user holding the number of that user's connections in the group.

Shards: the group's META item holds `shards`, the number of membership partitions in use,
which grows to ceil(peak members / shard size) and never shrinks (a member may sit in any
shard below it). A joining connection goes to shard hash(id) mod the count the group needs
after it joins; the count is raised in the join's own transaction, on condition that it
is not already higher, so no member is ever placed beyond what readers read."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from realtime.adapters.dynamodb.keys import (
    CONNECTION_PREFIX,
    META,
    SK,
    STATS_PK,
    USER_PREFIX,
    connection_id_of,
    connection_pk,
    connection_sk,
    group_pk,
    key,
    member_pk,
    mirror_sk,
    user_of,
    user_sk,
)
from realtime.adapters.dynamodb.table import Table, TransactionCancelled, connection_ttl, number
from realtime.domain.models import Connection, Counts, GroupState, JoinOutcome, Member
from realtime.errors import ConnectionGone

_SEQ_UNCHANGED = "(attribute_not_exists(seq) OR seq = :seq)"
# Beyond this many shards a group's shards grow larger instead of more numerous.
MAX_SHARDS = 1000
DEFAULT_SHARD_SIZE = 1000
# Members per Query page: a queued slice checkpoints after each page, so this bounds what a
# crashed worker's successor can send twice.
MEMBER_PAGE = 250
# The group item's attributes GroupState is made of.
GROUP_STATE_PROJECTION = "seq, epoch, members, shards, pending, occupied"


def group_state_from(item: dict[str, Any]) -> GroupState:
    """The group item as a GroupState (a group never published to has no epoch yet: "")."""
    return GroupState(
        seq=int(item.get("seq", 0)),
        epoch=item.get("epoch", ""),
        members=int(item.get("members", 0)),
        shards=int(item.get("shards", 1)),
        pending=int(item.get("pending", 0)),
        occupied=bool(item.get("occupied", False)),
    )


def shard_of(connection_id: str, shards: int) -> int:
    digest = hashlib.blake2b(connection_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


class Placement:
    """Where a joining connection goes, and the shard count the group must record."""

    def __init__(self, state: GroupState, connection_id: str, shard_size: int) -> None:
        needed = min(MAX_SHARDS, max(state.shards, -(-(state.members + 1) // shard_size)))
        self.shard = shard_of(connection_id, needed)
        self.grow_to = needed if needed > state.shards else None


class DynamoMemberships:
    def __init__(self, table: Table, *, shard_size: int = DEFAULT_SHARD_SIZE, track_occupancy: bool = False) -> None:
        self.table = table
        self.shard_size = shard_size
        # Keep each group's `occupied` flag: worth its conditions only when lifecycle events go out.
        self.track_occupancy = track_occupancy

    def sizing(self, group: str) -> GroupState:
        """What placing a member needs: its counts, shards and occupancy (no seq guard)."""
        return group_state_from(self.table.get(group_pk(group), META, projection=GROUP_STATE_PROJECTION) or {})

    def join(self, connection: Connection, group: str, state: GroupState, *, replaying: bool) -> JoinOutcome | None:
        """Add a membership that receives every seq after `state.seq`, on condition that the
        group is still at `state.seq` (so the Subscribed reply's seq is the exact boundary).
        "joined", or "occupied" when it is the join that made the group occupied (tracked
        with `track_occupancy`); "member": already one; None: the group moved on, read again.
        A replaying membership gets the same boundary and is skipped by publishers until
        `go_live`. Raises ConnectionGone when the connection no longer exists."""
        actions = [
            self.table.check(connection_pk(connection.connection_id), META, "attribute_exists(pk)"),
            *self.join_actions(connection, group, state, live_after=state.seq, replaying=replaying, guard_seq=True),
        ]
        try:
            self.table.transact(actions)
        except TransactionCancelled as cancelled:
            if cancelled.failed(0):
                raise ConnectionGone(connection.connection_id) from None
            if cancelled.failed(1) or cancelled.failed(2):
                return "member"
            return None
        return "occupied" if self.track_occupancy and not state.occupied else "joined"

    def go_live(self, connection_id: str, group: str, last_sent: int) -> bool:
        """End a replay: the membership becomes live after `last_sent`, on condition that
        nothing was published after it. False: new messages arrived, replay them first.
        True also when the membership is gone (the client left mid-replay)."""
        mirror = self.table.get(connection_pk(connection_id), mirror_sk(group), projection="inShard")
        if mirror is None:
            return True
        try:
            self.table.transact(
                [
                    self.table.check(group_pk(group), META, _SEQ_UNCHANGED, {":seq": number(last_sent)}),
                    self.table.update(
                        member_pk(group, int(mirror.get("inShard", 0))),
                        connection_sk(connection_id),
                        "SET liveAfter = :last REMOVE replaying",
                        condition="attribute_exists(pk)",
                        values={":last": number(last_sent)},
                    ),
                ]
            )
            return True
        except TransactionCancelled as cancelled:
            return not cancelled.failed(0)

    def leave(self, connection_id: str, group: str) -> bool:
        """Unsubscribe; False when it was not a member (or a concurrent leave won)."""
        mirror = self.table.get(connection_pk(connection_id), mirror_sk(group), projection="userId, inShard")
        if mirror is None:
            return False
        try:
            self.table.transact(self.leave_actions(connection_id, group, mirror))
        except TransactionCancelled:
            return False  # a concurrent unsubscribe or disconnect removed it first
        self.forget_absent_users(mirror["userId"], [group])
        return True

    def members(
        self, group: str, shard: int | None = None, after: str | None = None, *, shards: int | None = None
    ) -> Iterator[list[Member]]:
        """The members of one shard (or of all `shards`, read from the group if not given), a
        page (one Query) at a time, in connection-id order after `after`."""
        if shard is not None:
            indexes = range(shard, shard + 1)
        else:
            indexes = range(self._shard_count(group) if shards is None else shards)
        for index in indexes:
            pages = self.table.query(
                member_pk(group, index),
                prefix=CONNECTION_PREFIX if after is None else None,
                after=None if after is None else connection_sk(after),
                projection="sk, liveAfter, replaying",
                page_size=MEMBER_PAGE,
                consistent=False,  # a member joining this instant is covered by liveAfter anyway
            )
            for page in pages:
                yield [
                    Member(
                        connection_id=connection_id_of(item[SK]),
                        live_after=int(item["liveAfter"]) if "liveAfter" in item else None,
                        replaying=bool(item.get("replaying", False)),
                    )
                    for item in page
                ]

    def users(self, group: str, limit: int | None = None) -> list[str]:
        """Distinct users with at least one connection in the group."""
        users: list[str] = []
        for page in self.table.query(group_pk(group), prefix=USER_PREFIX, projection="sk, n"):
            users += [user_of(item[SK]) for item in page if int(item.get("n", 0)) > 0]
            if limit is not None and len(users) > limit:
                break
        return users

    def counts(self, groups: list[str]) -> Counts:
        found = self.table.batch_get([key(STATS_PK, META), *(key(group_pk(group), META) for group in groups)])
        return Counts(
            connections=int(found.get(STATS_PK, {}).get("connections", 0)),
            groups={group: int(found.get(group_pk(group), {}).get("members", 0)) for group in groups},
        )

    def mark_vacated(self, group: str) -> bool:
        """After a leave: flip the group's `occupied` flag off if no member is left. True
        when this call flipped it (report the group vacated). A join sets the flag in its
        own transaction, conditioned on the value it read, so Occupied and Vacated strictly
        alternate and each is reported once, whatever joins and leaves interleave."""
        return (
            self.table.update_item(
                group_pk(group),
                META,
                "SET occupied = :no",
                condition="occupied = :yes AND members <= :zero",
                values={":no": {"BOOL": False}, ":yes": {"BOOL": True}, ":zero": number(0)},
            )
            is not None
        )

    def _shard_count(self, group: str) -> int:
        item = self.table.get(group_pk(group), META, projection="shards")
        return int(item.get("shards", 1)) if item else 1

    # -- transaction pieces, shared with the connections store ------------------------------

    def join_actions(
        self,
        connection: Connection,
        group: str,
        state: GroupState,
        *,
        live_after: int | None,
        replaying: bool,
        guard_seq: bool,
    ) -> list[dict[str, Any]]:
        """Membership, mirror and counters. The META update is conditioned on the shard
        count the placement assumed (and on the seq when `guard_seq`); a transaction may
        touch an item only once, so both conditions sit on that one update."""
        cid, ttl = connection.connection_id, connection_ttl(connection)
        placement = Placement(state, cid, self.shard_size)
        membership: dict[str, Any] = {
            "pk": member_pk(group, placement.shard),
            "sk": connection_sk(cid),
            "userId": connection.user_id,
            "ttl": ttl,
            "liveAfter": live_after,
            "replaying": True if replaying else None,
        }
        mirror = {
            "pk": connection_pk(cid),
            "sk": mirror_sk(group),
            "group": group,
            "userId": connection.user_id,
            "inShard": placement.shard,
            "ttl": ttl,
        }
        values: dict[str, Any] = {":one": number(1)}
        sets: list[str] = []
        conditions: list[str] = []
        if placement.grow_to is not None:
            sets.append("shards = :shards")
            conditions.append("(attribute_not_exists(shards) OR shards <= :shards)")
            values[":shards"] = number(placement.grow_to)
        if guard_seq:
            conditions.append(_SEQ_UNCHANGED)
            values[":seq"] = number(state.seq)
        if self.track_occupancy:  # set the flag, on condition that it still is what was read
            sets.append("occupied = :yes")
            values[":yes"] = {"BOOL": True}
            if state.occupied:
                conditions.append("occupied = :yes")
            else:
                conditions.append("(attribute_not_exists(occupied) OR occupied = :no)")
                values[":no"] = {"BOOL": False}
        expression = ("SET " + ", ".join(sets) + " " if sets else "") + "ADD members :one"
        return [
            self.table.put(membership, "attribute_not_exists(pk)"),
            self.table.put(mirror, "attribute_not_exists(pk)"),
            self.table.update(
                group_pk(group), META, expression, condition=" AND ".join(conditions) or None, values=values
            ),
            self.table.add(group_pk(group), user_sk(connection.user_id), "n", 1),
        ]

    def leave_actions(self, connection_id: str, group: str, mirror: dict[str, Any]) -> list[dict[str, Any]]:
        """Undo a join, given the membership's mirror item (its shard and user)."""
        shard = int(mirror.get("inShard", 0))
        return [
            self.table.delete(member_pk(group, shard), connection_sk(connection_id), "attribute_exists(pk)"),
            self.table.delete(connection_pk(connection_id), mirror_sk(group)),
            self.table.add(group_pk(group), META, "members", -1),
            self.table.add(group_pk(group), user_sk(mirror["userId"]), "n", -1),
        ]

    def forget_absent_users(self, user_id: str, groups: list[str]) -> None:
        """Delete per-user counters that reached zero (the count ignores them meanwhile)."""
        for group in groups:
            self.table.delete_item(
                group_pk(group), user_sk(user_id), condition="n <= :zero", values={":zero": number(0)}
            )
