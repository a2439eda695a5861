"""Connections (the Connections port) and their replay budget (the ReplayBudget port).

One connection is, in its own partition, the item `CONN#id/META` plus a mirror of each
membership; elsewhere, `USER#u/CONN#id` (targeting a user) and `SWEEP#<minute>/CONN#id`
(finding due connections without a Scan). All of them, and the counters, change in one
transaction guarded by conditions, so counts stay exact and a second removal of the same
connection changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from realtime.adapters.dynamodb.keys import (
    CONNECTION_PREFIX,
    GROUP_PREFIX,
    META,
    SK,
    STATS_PK,
    SWEEP_BUCKET,
    SWEEP_CURSOR_PK,
    connection_id_of,
    connection_pk,
    connection_sk,
    sweep_bucket,
    sweep_pk,
    user_pk,
)
from realtime.adapters.dynamodb.memberships import DynamoMemberships
from realtime.adapters.dynamodb.table import (
    LOST_RACE,
    TTL_GRACE,
    LostRace,
    Table,
    TransactionCancelled,
    connection_ttl,
    number,
    optimistic,
    to_attributes,
)
from realtime.domain.models import Connection, Removal


class ConnectionItem(BaseModel):
    """The stored form of a connection (camelCase attributes)."""

    model_config = ConfigDict(defer_build=True, populate_by_name=True)

    pk: str
    sk: str = META
    user_id: str = Field(alias="userId")
    roles: list[str]
    connected_at: datetime = Field(alias="connectedAt")
    expires_at: datetime = Field(alias="expiresAt")
    token_expires_at: datetime | None = Field(default=None, alias="tokenExpiresAt")
    # The minute of its sweep index item (SWEEP#<minute>/CONN#id); absent: from expiresAt.
    sweep_at: datetime | None = Field(default=None, alias="sweepAt")
    ttl: int

    @property
    def sweep_pk(self) -> str:
        return sweep_pk(sweep_bucket(self.sweep_at or self.expires_at))

    @classmethod
    def from_connection(cls, connection: Connection) -> ConnectionItem:
        return cls(
            pk=connection_pk(connection.connection_id),
            user_id=connection.user_id,
            roles=sorted(connection.roles),
            connected_at=connection.connected_at,
            expires_at=connection.expires_at,
            token_expires_at=connection.token_expires_at,
            sweep_at=connection.sweep_at,
            # The connection item outlives its index and membership items: TTL deletes items
            # one by one in any order, and `remove` needs this one to find the rest.
            ttl=connection_ttl(connection) + int(TTL_GRACE.total_seconds()),
        )

    def to_connection(self) -> Connection:
        return Connection(
            connection_id=connection_id_of(self.pk),
            user_id=self.user_id,
            roles=frozenset(self.roles),
            connected_at=self.connected_at,
            expires_at=self.expires_at,
            token_expires_at=self.token_expires_at,
            sweep_at=self.sweep_at,
        )

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class DynamoConnections:
    def __init__(self, table: Table, memberships: DynamoMemberships) -> None:
        self.table = table
        # A connection's first memberships are written with it, and all of them removed with it.
        self.memberships = memberships

    def add(self, connection: Connection, groups: list[str]) -> list[str]:
        """Record the connection and its memberships of `groups`; return the groups it made
        occupied (when occupancy is tracked)."""
        item = ConnectionItem.from_connection(connection)
        cid, ttl = connection.connection_id, connection_ttl(connection)

        def attempt() -> list[str] | LostRace:
            actions: list[dict[str, Any]] = [
                self.table.put(item.stored(), "attribute_not_exists(pk)"),
                self.table.put({"pk": user_pk(connection.user_id), "sk": connection_sk(cid), "ttl": ttl}),
                self.table.put({"pk": item.sweep_pk, "sk": connection_sk(cid), "ttl": ttl}),
                self.table.add(STATS_PK, META, "connections", 1),
            ]
            sizings = {group: self.memberships.sizing(group) for group in groups}
            for group, sizing in sizings.items():
                actions += self.memberships.join_actions(
                    connection, group, sizing, live_after=None, replaying=False, guard_seq=False
                )
            try:
                self.table.transact(actions)
            except TransactionCancelled as cancelled:
                if cancelled.failed(0):
                    raise
                return LOST_RACE  # a concurrent join moved a group's shards or occupancy
            return [g for g, sizing in sizings.items() if self.memberships.track_occupancy and not sizing.occupied]

        return optimistic(attempt, "add the connection")

    def get(self, connection_id: str) -> Connection | None:
        item = self.table.get(connection_pk(connection_id), META)
        return ConnectionItem.model_validate(item).to_connection() if item else None

    def remove(self, connection_id: str) -> Removal | None:
        """Remove the connection and all its memberships; None when it was already gone."""

        def attempt() -> Removal | LostRace | None:
            items = [item for page in self.table.query(connection_pk(connection_id)) for item in page]
            meta = next((item for item in items if item[SK] == META), None)
            if meta is None:
                return None
            stored = ConnectionItem.model_validate(meta)
            connection = stored.to_connection()
            mirrors = [item for item in items if item[SK].startswith(GROUP_PREFIX)]
            sweep_condition = "sweepAt = :sweep" if stored.sweep_at else "attribute_not_exists(sweepAt)"
            actions: list[dict[str, Any]] = [
                # Conditioned on the sweep minute read: a concurrent refresh moved the index.
                self.table.delete(
                    connection_pk(connection_id),
                    META,
                    f"attribute_exists(pk) AND {sweep_condition}",
                    {":sweep": {"S": meta["sweepAt"]}} if stored.sweep_at else None,
                ),
                self.table.delete(user_pk(connection.user_id), connection_sk(connection_id)),
                self.table.delete(stored.sweep_pk, connection_sk(connection_id)),
                self.table.add(STATS_PK, META, "connections", -1),
            ]
            for mirror in mirrors:
                mirror = {"userId": connection.user_id, **mirror}
                actions += self.memberships.leave_actions(connection_id, mirror["group"], mirror)
            try:
                self.table.transact(actions)
            except TransactionCancelled:
                return LOST_RACE  # a concurrent unsubscribe or removal changed the items
            groups = [mirror["group"] for mirror in mirrors]
            self.memberships.forget_absent_users(connection.user_id, groups)
            return Removal(connection_id=connection_id, user_id=connection.user_id, groups=groups)

        return optimistic(attempt, "remove the connection")

    def refresh(self, current: Connection, updated: Connection) -> bool:
        """New roles, token expiry and sweep minute; the sweep index item moves with them, in
        one transaction conditioned on the connection still being there."""
        cid = current.connection_id
        before, after = ConnectionItem.from_connection(current), ConnectionItem.from_connection(updated)
        stored = after.stored()
        values: dict[str, Any] = {
            ":roles": to_attributes({"r": sorted(updated.roles)})["r"] if updated.roles else {"L": []},
            ":token": {"S": stored["tokenExpiresAt"]} if updated.token_expires_at else {"NULL": True},
            ":sweep": {"S": stored["sweepAt"]},
        }
        actions: list[dict[str, Any]] = [
            self.table.update(
                connection_pk(cid),
                META,
                "SET #roles = :roles, tokenExpiresAt = :token, sweepAt = :sweep",
                condition="attribute_exists(pk)",
                names={"#roles": "roles"},
                values=values,
            )
        ]
        if before.sweep_pk != after.sweep_pk:
            actions += [
                self.table.delete(before.sweep_pk, connection_sk(cid)),
                self.table.put({"pk": after.sweep_pk, "sk": connection_sk(cid), "ttl": connection_ttl(current)}),
            ]
        try:
            self.table.transact(actions)
        except TransactionCancelled:
            return False
        return True

    def groups_of(self, connection_id: str) -> list[str]:
        pages = self.table.query(
            connection_pk(connection_id), prefix=GROUP_PREFIX, projection="#g", names={"#g": "group"}
        )
        return [item["group"] for page in pages for item in page]

    def of_user(self, user_id: str) -> Iterator[list[str]]:
        for page in self.table.query(user_pk(user_id), prefix=CONNECTION_PREFIX, projection="sk"):
            yield [connection_id_of(item[SK]) for item in page]

    def due(self, now: datetime) -> Iterator[str]:
        """Connections whose sweep minute has passed and that were never removed, oldest
        first. A cursor remembers the last minute fully swept, so each run reads only the
        minutes since the previous one (never a Scan)."""
        cursor = self.table.get(SWEEP_CURSOR_PK, META)
        start = datetime.fromisoformat(cursor["swept"]) + SWEEP_BUCKET if cursor else sweep_bucket(now) - TTL_GRACE
        bucket = start
        while bucket < sweep_bucket(now):
            for page in self.table.query(sweep_pk(bucket), prefix=CONNECTION_PREFIX, projection="sk"):
                yield from (connection_id_of(item[SK]) for item in page)
            self.table.put_item({"pk": SWEEP_CURSOR_PK, "sk": META, "swept": bucket.isoformat()})
            bucket += SWEEP_BUCKET

    def count(self) -> int:
        item = self.table.get(STATS_PK, META, projection="connections")
        return int(item.get("connections", 0)) if item else 0


class DynamoReplayBudget:
    """Replayed messages and bytes per connection and minute, on the connection's item (so
    the budget holds across execution environments)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def charge(
        self, connection_id: str, window: int, messages: int, *, max_messages: int, max_bytes: int
    ) -> int | None:
        """Two conditional updates at most: within the current minute, or starting a new one.
        The bytes still allowed in the minute, or None when refused."""
        pk = connection_pk(connection_id)
        same_window = self.table.update_item(
            pk,
            META,
            "ADD replayMessages :n",
            condition="attribute_exists(pk) AND replayWindow = :w AND replayMessages <= :room AND replayBytes < :max",
            values={
                ":n": number(messages),
                ":w": number(window),
                ":room": number(max_messages - messages),
                ":max": number(max_bytes),
            },
            returns="ALL_NEW",
        )
        charged = same_window or self.table.update_item(
            pk,
            META,
            "SET replayWindow = :w, replayMessages = :n, replayBytes = :zero",
            condition="attribute_exists(pk) AND (attribute_not_exists(replayWindow) OR replayWindow < :w)",
            values={":n": number(messages), ":w": number(window), ":zero": number(0)},
            returns="ALL_NEW",
        )
        return None if charged is None else max(0, max_bytes - int(charged.get("replayBytes", 0)))

    def add_bytes(self, connection_id: str, window: int, sent: int) -> None:
        """Count the bytes a replay sent (unless the connection left, or a new minute began)."""
        self.table.update_item(
            connection_pk(connection_id),
            META,
            "ADD replayBytes :sent",
            condition="attribute_exists(pk) AND replayWindow = :w",
            values={":sent": number(sent), ":w": number(window)},
        )
