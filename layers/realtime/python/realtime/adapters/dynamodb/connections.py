"""Connections: the connection item, its indexes (by user, by expiry) and the counters.

One connection is, in its own partition, the item `CONN#id/META` plus a mirror of each
membership; elsewhere, `USER#u/CONN#id` (targeting a user) and `SWEEP#<minute>/CONN#id`
(finding expired connections without a Scan). All of them, and the counters, change in
one transaction guarded by conditions, so counts stay exact and a second removal of the
same connection changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from realtime.adapters.dynamodb.groups import GROUP_STATE_PROJECTION, GroupStore, group_state_from
from realtime.adapters.dynamodb.table import (
    META,
    SK,
    STATS_PK,
    SWEEP_CURSOR_PK,
    TRANSACTION_ATTEMPTS,
    TTL_GRACE,
    TransactionCancelled,
    connection_pk,
    group_pk,
    item_ttl,
    key,
    pause,
    sweep_pk,
    to_attributes,
    translated_errors,
    user_pk,
)
from realtime.domain.models import Connection, Counts, GroupState, Removal
from realtime.errors import ServiceUnavailable

SWEEP_BUCKET = timedelta(minutes=1)


def sweep_bucket(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


class ConnectionItem(BaseModel):
    """The stored form of a connection (camelCase attributes)."""

    model_config = ConfigDict(populate_by_name=True)

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
            # one by one in any order, and remove_connection needs this one to find the rest.
            ttl=item_ttl(connection) + int(TTL_GRACE.total_seconds()),
        )

    def to_connection(self) -> Connection:
        return Connection(
            connection_id=self.pk.removeprefix("CONN#"),
            user_id=self.user_id,
            roles=frozenset(self.roles),
            connected_at=self.connected_at,
            expires_at=self.expires_at,
            token_expires_at=self.token_expires_at,
            sweep_at=self.sweep_at,
        )


class ConnectionStore(GroupStore):
    def add_connection(self, connection: Connection, groups: list[str]) -> list[str]:
        """Record the connection and its memberships of `groups`; return the groups it made
        occupied (with `track_occupancy`)."""
        item = ConnectionItem.from_connection(connection)
        cid, ttl = connection.connection_id, item_ttl(connection)
        for attempt in range(TRANSACTION_ATTEMPTS):
            actions: list[dict[str, Any]] = [
                self._put(item.model_dump(mode="json", by_alias=True), "attribute_not_exists(pk)"),
                self._put({"pk": user_pk(connection.user_id), "sk": connection_pk(cid), "ttl": ttl}),
                self._put({"pk": item.sweep_pk, "sk": connection_pk(cid), "ttl": ttl}),
                self._add(STATS_PK, META, "connections", 1),
            ]
            sizings = {group: self._group_sizing(group) for group in groups}
            for group, sizing in sizings.items():
                actions += self._join_actions(
                    connection, group, sizing, live_after=None, replaying=False, guard_seq=False
                )
            try:
                self._transact(actions)
            except TransactionCancelled as cancelled:
                if cancelled.failed(0):
                    raise
                pause(attempt)  # a concurrent join moved a group's shards or occupancy: read again
                continue
            return [group for group, sizing in sizings.items() if self.track_occupancy and not sizing.occupied]
        raise ServiceUnavailable("could not add the connection: too many concurrent joins; retry")

    def get_connection(self, connection_id: str) -> Connection | None:
        item = self._get(connection_pk(connection_id), META)
        return ConnectionItem.model_validate(item).to_connection() if item else None

    def remove_connection(self, connection_id: str) -> Removal | None:
        for attempt in range(12):
            items = [item for page in self._query(connection_pk(connection_id)) for item in page]
            meta = next((item for item in items if item[SK] == META), None)
            if meta is None:
                return None
            stored = ConnectionItem.model_validate(meta)
            connection = stored.to_connection()
            mirrors = [item for item in items if item[SK].startswith("GRP#")]
            actions: list[dict[str, Any]] = [
                # Conditioned on the sweep minute read: a concurrent refresh moved the index.
                self._delete(
                    connection_pk(connection_id),
                    META,
                    "attribute_exists(pk) AND "
                    + ("sweepAt = :sweep" if stored.sweep_at else "attribute_not_exists(sweepAt)"),
                    {":sweep": {"S": meta["sweepAt"]}} if stored.sweep_at else None,
                ),
                self._delete(user_pk(connection.user_id), connection_pk(connection_id)),
                self._delete(stored.sweep_pk, connection_pk(connection_id)),
                self._add(STATS_PK, META, "connections", -1),
            ]
            for mirror in mirrors:
                actions += self._leave_actions(connection_id, mirror["group"], {"userId": connection.user_id, **mirror})
            try:
                self._transact(actions)
            except TransactionCancelled:
                pause(attempt)  # a concurrent unsubscribe or removal changed the items: read again
                continue
            groups = [mirror["group"] for mirror in mirrors]
            self._forget_absent_users(connection.user_id, groups)
            return Removal(connection_id=connection_id, user_id=connection.user_id, groups=groups)
        raise ServiceUnavailable("could not remove the connection: too many concurrent changes")

    def refresh_connection(self, current: Connection, updated: Connection) -> bool:
        """New roles, token expiry and sweep minute; the sweep index item moves with them, in
        one transaction conditioned on the connection still being there."""
        cid = current.connection_id
        before, after = ConnectionItem.from_connection(current), ConnectionItem.from_connection(updated)
        values: dict[str, Any] = {
            ":roles": to_attributes({"r": sorted(updated.roles)})["r"] if updated.roles else {"L": []},
            ":token": {"S": after.model_dump(mode="json", by_alias=True)["tokenExpiresAt"]}
            if updated.token_expires_at
            else {"NULL": True},
            ":sweep": {"S": after.model_dump(mode="json", by_alias=True)["sweepAt"]},
        }
        actions: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": key(connection_pk(cid), META),
                    "UpdateExpression": "SET #roles = :roles, tokenExpiresAt = :token, sweepAt = :sweep",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeNames": {"#roles": "roles"},
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        if before.sweep_pk != after.sweep_pk:
            ttl = item_ttl(current)
            actions += [
                self._delete(before.sweep_pk, connection_pk(cid)),
                self._put({"pk": after.sweep_pk, "sk": connection_pk(cid), "ttl": ttl}),
            ]
        try:
            self._transact(actions)
        except TransactionCancelled:
            return False
        return True

    def connection_groups(self, connection_id: str) -> list[str]:
        return [
            item["group"]
            for page in self._query(connection_pk(connection_id), prefix="GRP#", projection="#g", names={"#g": "group"})
            for item in page
        ]

    def charge_replay(
        self, connection_id: str, window: int, messages: int, *, max_messages: int, max_bytes: int
    ) -> int | None:
        """Two conditional updates at most: within the current minute, or starting a new one."""
        same_window = {
            "UpdateExpression": "ADD replayMessages :n",
            "ConditionExpression": "attribute_exists(pk) AND replayWindow = :w AND replayMessages <= :room"
            " AND replayBytes < :maxBytes",
            "ExpressionAttributeValues": {
                ":n": {"N": str(messages)},
                ":w": {"N": str(window)},
                ":room": {"N": str(max_messages - messages)},
                ":maxBytes": {"N": str(max_bytes)},
            },
        }
        new_window = {
            "UpdateExpression": "SET replayWindow = :w, replayMessages = :n, replayBytes = :zero",
            "ConditionExpression": "attribute_exists(pk) AND (attribute_not_exists(replayWindow) OR replayWindow < :w)",
            "ExpressionAttributeValues": {":n": {"N": str(messages)}, ":w": {"N": str(window)}, ":zero": {"N": "0"}},
        }
        for update in (same_window, new_window):
            try:
                with translated_errors():
                    response = self._client.update_item(
                        TableName=self._table,
                        Key=key(connection_pk(connection_id), META),
                        ReturnValues="ALL_NEW",
                        **update,
                    )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue
            return max(0, max_bytes - int(response["Attributes"].get("replayBytes", {}).get("N", "0")))
        return None

    def add_replay_bytes(self, connection_id: str, window: int, sent: int) -> None:
        try:
            with translated_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=key(connection_pk(connection_id), META),
                    UpdateExpression="ADD replayBytes :sent",
                    ConditionExpression="attribute_exists(pk) AND replayWindow = :w",
                    ExpressionAttributeValues={":sent": {"N": str(sent)}, ":w": {"N": str(window)}},
                )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise  # else: the connection left, or a new minute began

    def _group_sizing(self, group: str) -> GroupState:
        """What placing a member needs: its counts, shards and occupancy (no seq guard)."""
        return group_state_from(self._get(group_pk(group), META, projection=GROUP_STATE_PROJECTION) or {})

    def user_connection_pages(self, user_id: str) -> Iterator[list[str]]:
        for page in self._query(user_pk(user_id), prefix="CONN#", projection="sk"):
            yield [item[SK].removeprefix("CONN#") for item in page]

    def expired_connections(self, now: datetime) -> Iterator[str]:
        """Connections whose expiry minute has passed and that were never removed, oldest
        first. A cursor remembers the last minute fully swept, so each run reads only the
        minutes since the previous one (never a Scan)."""
        cursor = self._get(SWEEP_CURSOR_PK, META)
        start = datetime.fromisoformat(cursor["swept"]) + SWEEP_BUCKET if cursor else sweep_bucket(now) - TTL_GRACE
        bucket = start
        while bucket < sweep_bucket(now):
            for page in self._query(sweep_pk(bucket), prefix="CONN#", projection="sk"):
                for item in page:
                    yield item[SK].removeprefix("CONN#")
            with translated_errors():
                self._client.put_item(
                    TableName=self._table,
                    Item=to_attributes({"pk": SWEEP_CURSOR_PK, "sk": META, "swept": bucket.isoformat()}),
                )
            bucket += SWEEP_BUCKET

    def connection_count(self) -> int:
        item = self._get(STATS_PK, META, projection="connections")
        return int(item.get("connections", 0)) if item else 0

    def counts(self, groups: list[str]) -> Counts:
        keys = [key(STATS_PK, META), *(key(group_pk(group), META) for group in groups)]
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        with translated_errors():
            for attempt in range(8):
                response = self._client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table, []):
                    found[item["pk"]["S"]] = item
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                pause(attempt)
            else:
                raise ServiceUnavailable("DynamoDB kept keys unprocessed; retry later")

        def number(pk: str, attribute: str) -> int:
            return int(found.get(pk, {}).get(attribute, {}).get("N", 0))

        return Counts(
            connections=number(STATS_PK, "connections"),
            groups={group: number(group_pk(group), "members") for group in groups},
        )
