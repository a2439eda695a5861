"""Group memberships and presence.

A membership is `GRP#g/CONN#id` (read by the fan-out) and its mirror `CONN#id/GRP#g` (read
by a disconnect). It carries the boundary of what the publishers deliver to it:
`liveAfter` (publishers deliver only seq > liveAfter) and `replaying` (a resuming client
whose missed messages are being replayed: publishers skip it until it goes live). Distinct
users per group are counted with one `GRP#g/USER#u` item per user holding the number of
that user's connections in the group."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from realtime.adapters.dynamodb.table import (
    META,
    SK,
    Table,
    TransactionCancelled,
    connection_pk,
    group_pk,
    item_ttl,
    key,
    translated_errors,
    user_pk,
)
from realtime.domain.models import Connection, GroupState, Member
from realtime.errors import ConnectionGone

_SEQ_UNCHANGED = "attribute_not_exists(seq) OR seq = :seq"


class GroupStore(Table):
    def join(self, connection: Connection, group: str, state: GroupState, *, replaying: bool) -> bool | None:
        """Add a membership that receives every seq after `state.seq`, on condition that the
        group is still at `state.seq` (so the Subscribed reply's seq is the exact boundary).
        True: joined; False: already a member; None: the group moved on, read it again.
        A replaying membership gets the same boundary and is skipped by publishers until
        `go_live`. Raises ConnectionGone when the connection no longer exists."""
        actions = [
            self._check(connection_pk(connection.connection_id), META, "attribute_exists(pk)"),
            *self._join_actions(connection, group, live_after=state.seq, replaying=replaying),
        ]
        # Guard the group counter update (index 3) with the seq condition: a transaction
        # may touch an item only once.
        actions[3]["Update"]["ConditionExpression"] = _SEQ_UNCHANGED
        actions[3]["Update"]["ExpressionAttributeValues"][":seq"] = {"N": str(state.seq)}
        try:
            self._transact(actions)
            return True
        except TransactionCancelled as cancelled:
            if cancelled.failed(0):
                raise ConnectionGone(connection.connection_id) from None
            if cancelled.failed(1):
                return False
            return None

    def go_live(self, connection_id: str, group: str, last_sent: int) -> bool:
        """End a replay: the membership becomes live after `last_sent`, on condition that
        nothing was published after it. False: new messages arrived, replay them first.
        True also when the membership is gone (the client left mid-replay)."""
        try:
            self._transact(
                [
                    self._check(group_pk(group), META, _SEQ_UNCHANGED, {":seq": {"N": str(last_sent)}}),
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": key(group_pk(group), connection_pk(connection_id)),
                            "UpdateExpression": "SET liveAfter = :last REMOVE replaying",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": {":last": {"N": str(last_sent)}},
                        }
                    },
                ]
            )
            return True
        except TransactionCancelled as cancelled:
            return not cancelled.failed(0)

    def unsubscribe(self, connection_id: str, group: str) -> bool:
        item = self._get(group_pk(group), connection_pk(connection_id), projection="userId")
        if item is None:
            return False
        try:
            self._transact(self._leave_actions(connection_id, item["userId"], group))
        except TransactionCancelled:
            return False  # a concurrent unsubscribe or disconnect removed it first
        self._forget_absent_users(item["userId"], [group])
        return True

    def member_pages(self, group: str) -> Iterator[list[Member]]:
        pages = self._query(group_pk(group), prefix="CONN#", projection="sk, liveAfter, replaying")
        for page in pages:
            yield [
                Member(
                    connection_id=item[SK].removeprefix("CONN#"),
                    live_after=int(item["liveAfter"]) if "liveAfter" in item else None,
                    replaying=bool(item.get("replaying", False)),
                )
                for item in page
            ]

    def group_user_ids(self, group: str, limit: int | None = None) -> list[str]:
        """Distinct users with at least one connection in the group."""
        users: list[str] = []
        for page in self._query(group_pk(group), prefix="USER#", projection="sk, n"):
            users += [item[SK].removeprefix("USER#") for item in page if int(item.get("n", 0)) > 0]
            if limit is not None and len(users) > limit:
                break
        return users

    # -- transaction pieces shared with ConnectionStore ------------------------------

    def _join_actions(
        self, connection: Connection, group: str, *, live_after: int | None, replaying: bool
    ) -> list[dict[str, Any]]:
        cid, ttl = connection.connection_id, item_ttl(connection)
        membership: dict[str, Any] = {
            "pk": group_pk(group),
            "sk": connection_pk(cid),
            "userId": connection.user_id,
        }
        membership |= {"ttl": ttl, "liveAfter": live_after, "replaying": True if replaying else None}
        return [
            self._put(membership, "attribute_not_exists(pk)"),
            self._put({"pk": connection_pk(cid), "sk": f"GRP#{group}", "group": group, "ttl": ttl}),
            self._add(group_pk(group), META, "members", 1),
            self._add(group_pk(group), user_pk(connection.user_id), "n", 1),
        ]

    def _leave_actions(self, connection_id: str, user_id: str, group: str) -> list[dict[str, Any]]:
        return [
            self._delete(group_pk(group), connection_pk(connection_id), "attribute_exists(pk)"),
            self._delete(connection_pk(connection_id), f"GRP#{group}"),
            self._add(group_pk(group), META, "members", -1),
            self._add(group_pk(group), user_pk(user_id), "n", -1),
        ]

    def _forget_absent_users(self, user_id: str, groups: list[str]) -> None:
        """Delete per-user counters that reached zero (the count ignores them meanwhile)."""
        for group in groups:
            try:
                with translated_errors():
                    self._client.delete_item(
                        TableName=self._table,
                        Key=key(group_pk(group), user_pk(user_id)),
                        ConditionExpression="n <= :zero",
                        ExpressionAttributeValues={":zero": {"N": "0"}},
                    )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
