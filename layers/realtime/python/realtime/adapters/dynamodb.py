"""DynamoDB adapter: connections, memberships, sequences and counters in one table.

Key design (see docs/architecture.md for the access patterns):

| item              | pk              | sk            | attributes                      |
|-------------------|-----------------|---------------|---------------------------------|
| connection        | CONN#<id>       | META          | userId, roles, connectedAt, ttl |
| membership mirror | CONN#<id>       | GRP#<group>   | group, ttl                      |
| membership        | GRP#<group>     | CONN#<id>     | userId, ttl                     |
| group counters    | GRP#<group>     | META          | seq, members                    |
| global counters   | STATS           | META          | connections                     |
| latest by type    | LATEST          | TYPE#<type>   | envelope (JSON)                 |

Every change to a connection or membership is one transaction that also moves the
counters, guarded by a condition on the item it adds or removes: counts stay exact
without a Scan, and a duplicate disconnect or unsubscribe never decrements twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from realtime.domain.models import Connection, Counts, Envelope
from realtime.errors import ConnectionGone, ServiceUnavailable

PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "ttl"
META = "META"
STATS_PK = "STATS"
LATEST_PK = "LATEST"

# Errors that mean "DynamoDB is busy": botocore has already retried them.
_THROTTLING_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}
_TRANSACTION_ATTEMPTS = 6

T = TypeVar("T")
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def connection_pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


def group_pk(group: str) -> str:
    return f"GRP#{group}"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {PK: {"S": pk}, SK: {"S": sk}}


def _to_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


def _from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


class ConnectionItem(BaseModel):
    """The stored form of a connection (camelCase attributes, epoch-seconds TTL)."""

    model_config = ConfigDict(populate_by_name=True)

    pk: str
    sk: str = META
    user_id: str = Field(alias="userId")
    roles: list[str]
    connected_at: datetime = Field(alias="connectedAt")
    ttl: int

    @classmethod
    def from_connection(cls, connection: Connection) -> ConnectionItem:
        return cls(
            pk=connection_pk(connection.connection_id),
            user_id=connection.user_id,
            roles=sorted(connection.roles),
            connected_at=connection.connected_at,
            ttl=int(connection.expires_at.timestamp()),
        )

    def to_connection(self) -> Connection:
        from datetime import UTC

        return Connection(
            connection_id=self.pk.removeprefix("CONN#"),
            user_id=self.user_id,
            roles=frozenset(self.roles),
            connected_at=self.connected_at,
            expires_at=datetime.fromtimestamp(self.ttl, tz=UTC),
        )

    def to_attributes(self) -> dict[str, Any]:
        return _to_attributes(self.model_dump(mode="json", by_alias=True))


class DynamoRepository:
    def __init__(self, client: Any, table_name: str, *, page_size: int | None = None) -> None:
        self._client = client
        self._table = table_name
        # Members per Query page; None lets DynamoDB fill 1 MB pages (tests use small pages).
        self._page_kwargs = {"PaginationConfig": {"PageSize": page_size}} if page_size else {}

    # -- connections ----------------------------------------------------------------

    def add_connection(self, connection: Connection, groups: list[str]) -> None:
        item = ConnectionItem.from_connection(connection)
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": item.to_attributes(),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._add_counter(STATS_PK, "connections", 1),
        ]
        for group in groups:
            actions += self._membership_puts(connection.connection_id, group, connection.user_id, item.ttl)
            actions.append(self._add_counter(group_pk(group), "members", 1))
        self._transact(actions)

    def get_connection(self, connection_id: str) -> Connection | None:
        with _translated_errors():
            response = self._client.get_item(
                TableName=self._table, Key=_key(connection_pk(connection_id), META), ConsistentRead=True
            )
        if "Item" not in response:
            return None
        return ConnectionItem.model_validate(_from_attributes(response["Item"])).to_connection()

    def remove_connection(self, connection_id: str) -> list[str] | None:
        pk = connection_pk(connection_id)
        for _ in range(_TRANSACTION_ATTEMPTS):
            items = list(self._query_all(pk))
            if not any(item[SK] == META for item in items):
                return None
            groups = [item["group"] for item in items if item[SK].startswith("GRP#")]
            actions: list[dict[str, Any]] = [
                {
                    "Delete": {
                        "TableName": self._table,
                        "Key": _key(pk, META),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
                self._add_counter(STATS_PK, "connections", -1),
            ]
            for group in groups:
                actions += self._membership_deletes(connection_id, group)
                actions.append(self._add_counter(group_pk(group), "members", -1))
            if self._transact(actions, on_condition_failure=lambda _reasons: False):
                return groups
            # A concurrent unsubscribe or disconnect changed the items: read them again.
        raise ServiceUnavailable("could not remove the connection: too many concurrent changes")

    # -- memberships ----------------------------------------------------------------

    def subscribe(self, connection: Connection, group: str) -> bool:
        connection_id, user_id = connection.connection_id, connection.user_id
        ttl = int(connection.expires_at.timestamp())
        actions = [
            {
                "ConditionCheck": {
                    "TableName": self._table,
                    "Key": _key(connection_pk(connection_id), META),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            *self._membership_puts(connection_id, group, user_id, ttl),
            self._add_counter(group_pk(group), "members", 1),
        ]

        def already_member_or_gone(reasons: list[str]) -> bool:
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise ConnectionGone(connection_id)
            return False

        return self._transact(actions, on_condition_failure=already_member_or_gone)

    def unsubscribe(self, connection_id: str, group: str) -> bool:
        actions = [
            *self._membership_deletes(connection_id, group),
            self._add_counter(group_pk(group), "members", -1),
        ]
        return self._transact(actions, on_condition_failure=lambda _reasons: False)

    def member_pages(self, group: str) -> Iterator[list[str]]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": group_pk(group)}, ":prefix": {"S": "CONN#"}},
            ProjectionExpression="sk",
            ConsistentRead=True,
            **self._page_kwargs,
        )
        with _translated_errors():
            for page in pages:
                yield [item[SK]["S"].removeprefix("CONN#") for item in page["Items"]]

    # -- sequences and counters -----------------------------------------------------

    def next_seq(self, group: str) -> int:
        with _translated_errors():
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(group_pk(group), META),
                UpdateExpression="ADD seq :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
        return int(response["Attributes"]["seq"]["N"])

    def last_seq(self, group: str) -> int:
        with _translated_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key=_key(group_pk(group), META),
                ProjectionExpression="seq",
                ConsistentRead=True,
            )
        return int(response.get("Item", {}).get("seq", {}).get("N", 0))

    def counts(self, groups: list[str]) -> Counts:
        keys = [_key(STATS_PK, META), *(_key(group_pk(group), META) for group in groups)]
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        with _translated_errors():
            for _ in range(_TRANSACTION_ATTEMPTS):
                response = self._client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table, []):
                    found[item[PK]["S"]] = item
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                _pause()
            else:
                raise ServiceUnavailable("DynamoDB kept keys unprocessed")

        def number(pk: str, attribute: str) -> int:
            return int(found.get(pk, {}).get(attribute, {}).get("N", 0))

        return Counts(
            connections=number(STATS_PK, "connections"),
            groups={group: number(group_pk(group), "members") for group in groups},
        )

    def connection_count(self) -> int:
        with _translated_errors():
            response = self._client.get_item(
                TableName=self._table, Key=_key(STATS_PK, META), ConsistentRead=True
            )
        return int(response.get("Item", {}).get("connections", {}).get("N", 0))

    # -- latest value of each event type --------------------------------------------

    def save_latest(self, envelope: Envelope) -> None:
        # Conditional on seq so that a slower concurrent publisher never overwrites a newer value.
        with _translated_errors():
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        **_key(LATEST_PK, f"TYPE#{envelope.type}"),
                        "group": {"S": envelope.group},
                        "seq": {"N": str(envelope.seq)},
                        "envelope": {"S": envelope.to_json()},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR #g <> :g OR seq < :seq",
                    ExpressionAttributeNames={"#g": "group"},
                    ExpressionAttributeValues={":g": {"S": envelope.group}, ":seq": {"N": str(envelope.seq)}},
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise

    def latest(self) -> dict[str, Envelope]:
        envelopes = [Envelope.model_validate_json(item["envelope"]) for item in self._query_all(LATEST_PK)]
        return {envelope.type: envelope for envelope in envelopes}

    # -- helpers --------------------------------------------------------------------

    def _membership_puts(
        self, connection_id: str, group: str, user_id: str, ttl: int
    ) -> list[dict[str, Any]]:
        return [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _to_attributes(
                        {PK: group_pk(group), SK: connection_pk(connection_id), "userId": user_id, "ttl": ttl}
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _to_attributes(
                        {PK: connection_pk(connection_id), SK: f"GRP#{group}", "group": group, "ttl": ttl}
                    ),
                }
            },
        ]

    def _membership_deletes(self, connection_id: str, group: str) -> list[dict[str, Any]]:
        return [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": _key(group_pk(group), connection_pk(connection_id)),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {"Delete": {"TableName": self._table, "Key": _key(connection_pk(connection_id), f"GRP#{group}")}},
        ]

    def _add_counter(self, pk: str, attribute: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": _key(pk, META),
                "UpdateExpression": "ADD #n :d",
                "ExpressionAttributeNames": {"#n": attribute},
                "ExpressionAttributeValues": {":d": {"N": str(delta)}},
            }
        }

    def _query_all(self, pk: str) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ConsistentRead=True,
        )
        with _translated_errors():
            for page in pages:
                for item in page["Items"]:
                    yield _from_attributes(item)

    def _transact(
        self,
        actions: list[dict[str, Any]],
        on_condition_failure: Callable[[list[str]], bool] | None = None,
    ) -> bool:
        """Run a transaction. True when it committed. When a condition failed, return what
        `on_condition_failure` decides (given the per-item reason codes); transaction
        conflicts with concurrent writers are retried."""
        for attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                with _translated_errors(passthrough={"TransactionCanceledException"}):
                    self._client.transact_write_items(TransactItems=actions)
                return True
            except ClientError as exc:
                reasons = [
                    reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])
                ]
                if "ConditionalCheckFailed" in reasons and on_condition_failure is not None:
                    return on_condition_failure(reasons)
                if "ConditionalCheckFailed" in reasons:
                    raise
                if attempt + 1 == _TRANSACTION_ATTEMPTS:
                    raise ServiceUnavailable("DynamoDB transaction kept conflicting; retry later") from exc
                _pause(attempt)
        raise AssertionError("unreachable")


def _pause(attempt: int = 0) -> None:
    time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not crypto


@contextmanager
def _translated_errors(passthrough: set[str] | None = None) -> Iterator[None]:
    """DynamoDB throttling or outage (after botocore's own retries) → ServiceUnavailable."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if passthrough and code in passthrough:
            raise
        if code in _THROTTLING_CODES:
            raise ServiceUnavailable("the database is busy; retry later") from exc
        raise
    except BotoCoreError as exc:
        raise ServiceUnavailable("the database could not be reached; retry later") from exc
