"""Keys, item (de)serialisation, transactions and error translation for the one table."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from realtime.domain.models import Connection
from realtime.errors import ServiceUnavailable

PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "ttl"
META = "META"
STATS_PK = "STATS"
LATEST_PK = "LATEST"
SWEEP_CURSOR_PK = "SWEEP#CURSOR"

# Errors that mean "DynamoDB is busy": botocore has already retried them.
_THROTTLING_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}
TRANSACTION_ATTEMPTS = 8
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def connection_pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


def group_pk(group: str) -> str:
    return f"GRP#{group}"


def member_pk(group: str, shard: int) -> str:
    """One membership shard of a group: its own partition, one slice of a queued fan-out."""
    return f"MEM#{group}#{shard}"


def message_pk(message_id: str) -> str:
    return f"MSG#{message_id}"


def user_pk(user_id: str) -> str:
    return f"USER#{user_id}"


def history_pk(group: str) -> str:
    return f"HIST#{group}"


def seq_sk(seq: int) -> str:
    return f"SEQ#{seq:020d}"  # zero-padded so the string order is the numeric order


def sweep_pk(bucket: datetime) -> str:
    return f"SWEEP#{bucket.astimezone(UTC):%Y%m%dT%H%M}"


def key(pk: str, sk: str) -> dict[str, Any]:
    return {PK: {"S": pk}, SK: {"S": sk}}


def to_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


# Connection data outlives the moment the sweeper removes it by a day: TTL is the backstop
# that deletes garbage if the sweeper is ever off, never the mechanism that keeps counts.
TTL_GRACE = timedelta(days=1)


def item_ttl(connection: Connection) -> int:
    return int((connection.expires_at + TTL_GRACE).timestamp())


class TransactionCancelled(Exception):
    """A condition failed; `reasons` has one code per action, in order, and `items` the
    item as it was for actions that asked for it (ReturnValuesOnConditionCheckFailure)."""

    def __init__(self, reasons: list[str], items: list[dict[str, Any] | None] | None = None) -> None:
        super().__init__(reasons)
        self.reasons = reasons
        self.items = items or [None] * len(reasons)

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"

    def item(self, index: int) -> dict[str, Any] | None:
        """The item that failed action `index`'s condition, deserialised, if it was returned."""
        raw = self.items[index] if index < len(self.items) else None
        return from_attributes(raw) if raw else None


class Table:
    """The DynamoDB client and table name, with the helpers every store uses."""

    def __init__(self, client: Any, table_name: str, *, page_size: int | None = None) -> None:
        self._client = client
        self._table = table_name
        # Items per Query page; None lets DynamoDB fill 1 MB pages (tests use small pages).
        self._page_kwargs = {"PaginationConfig": {"PageSize": page_size}} if page_size else {}

    def _put(self, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        action: dict[str, Any] = {"TableName": self._table, "Item": to_attributes(item)}
        if condition:
            action["ConditionExpression"] = condition
        return {"Put": action}

    def _delete(
        self, pk: str, sk: str, condition: str | None = None, values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        action: dict[str, Any] = {"TableName": self._table, "Key": key(pk, sk)}
        if condition:
            action["ConditionExpression"] = condition
        if values:
            action["ExpressionAttributeValues"] = values
        return {"Delete": action}

    def _check(self, pk: str, sk: str, condition: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        action: dict[str, Any] = {
            "TableName": self._table,
            "Key": key(pk, sk),
            "ConditionExpression": condition,
        }
        if values:
            action["ExpressionAttributeValues"] = values
        return {"ConditionCheck": action}

    def _add(self, pk: str, sk: str, attribute: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": key(pk, sk),
                "UpdateExpression": "ADD #n :d",
                "ExpressionAttributeNames": {"#n": attribute},
                "ExpressionAttributeValues": {":d": {"N": str(delta)}},
            }
        }

    def _get(self, pk: str, sk: str, projection: str | None = None) -> dict[str, Any] | None:
        kwargs: dict[str, Any] = {"TableName": self._table, "Key": key(pk, sk), "ConsistentRead": True}
        if projection:
            kwargs["ProjectionExpression"] = projection
        with translated_errors():
            response = self._client.get_item(**kwargs)
        return from_attributes(response["Item"]) if "Item" in response else None

    def _query(
        self,
        pk: str,
        *,
        prefix: str | None = None,
        after: str | None = None,
        projection: str | None = None,
        names: dict[str, str] | None = None,
        consistent: bool = True,
        limit: int | None = None,
        page_size: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of items of one partition: all of it, a `prefix` of the sort key, or the
        sort keys greater than `after` (ascending)."""
        condition, values = "pk = :pk", {":pk": {"S": pk}}
        if prefix is not None:
            condition += " AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": prefix}
        if after is not None:
            condition += " AND sk > :after"
            values[":after"] = {"S": after}
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": consistent,
        }
        if projection:
            kwargs["ProjectionExpression"] = projection
        if names:
            kwargs["ExpressionAttributeNames"] = names
        pagination = {"PageSize": page_size} if page_size else {}
        pagination |= self._page_kwargs.get("PaginationConfig", {})
        if limit is not None:
            pagination["MaxItems"] = limit
        paginator = self._client.get_paginator("query")
        with translated_errors():
            for page in paginator.paginate(**kwargs, PaginationConfig=pagination):
                yield [from_attributes(item) for item in page["Items"]]

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        """Commit `actions` atomically. A failed condition raises TransactionCancelled;
        conflicts with concurrent transactions are retried with jitter."""
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                with translated_errors(passthrough={"TransactionCanceledException"}):
                    self._client.transact_write_items(TransactItems=actions)
                return
            except ClientError as exc:
                cancelled = exc.response.get("CancellationReasons", [])
                reasons = [reason.get("Code", "None") for reason in cancelled]
                if "ConditionalCheckFailed" in reasons:
                    raise TransactionCancelled(reasons, [reason.get("Item") for reason in cancelled]) from exc
                if attempt + 1 == TRANSACTION_ATTEMPTS:
                    raise ServiceUnavailable("DynamoDB transaction kept conflicting; retry later") from exc
                pause(attempt)


def pause(attempt: int = 0) -> None:
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # noqa: S311 - jitter, not crypto


# How often an optimistic write tries when it keeps losing races (each lost race means
# another writer succeeded), never longer than well inside API Gateway's 29 s; its backoff
# is full jitter below a cap that doubles from 5 ms to 100 ms.
CONFLICT_ROUNDS = 64
CONFLICT_BUDGET_SECONDS = 20.0
_CONFLICT_BACKOFF_BASE, _CONFLICT_BACKOFF_CAP = 0.005, 0.1


def retry_on_conflict(
    attempt: Callable[[], Any | None],
    what: str,
    *,
    rounds: int = CONFLICT_ROUNDS,
    budget: float = CONFLICT_BUDGET_SECONDS,
) -> Any:
    """Run `attempt` until it returns something other than None (None = lost a race), at
    most `rounds` times and `budget` seconds; then ServiceUnavailable (nothing was
    written: retry later)."""
    deadline = time.monotonic() + budget
    for round_ in range(rounds):
        result = attempt()
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            break
        ceiling = min(_CONFLICT_BACKOFF_CAP, _CONFLICT_BACKOFF_BASE * 2 ** min(round_, 10))
        time.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not crypto
    raise ServiceUnavailable(f"could not {what}: too many concurrent changes; retry later")


@contextmanager
def translated_errors(passthrough: set[str] | None = None) -> Iterator[None]:
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
