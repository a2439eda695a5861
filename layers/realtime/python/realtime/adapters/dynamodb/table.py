"""The one table: its client and name, the action builders every store uses, item
(de)serialisation, optimistic retries, and the one place DynamoDB errors become domain
errors (throttling or an outage after botocore's own retries → ServiceUnavailable)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from realtime.adapters.dynamodb.keys import key
from realtime.domain.models import Connection
from realtime.errors import ServiceUnavailable
from realtime.retries import LOST_RACE, LostRace, optimistic

__all__ = ["LOST_RACE", "LostRace", "Table", "TransactionCancelled", "optimistic"]

# Errors that mean "DynamoDB is busy": botocore has already retried them.
_THROTTLING_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}
# TransactionConflict (another transaction on the same items) is retried this many times.
TRANSACTION_ATTEMPTS = 8

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Connection data outlives the moment the sweeper removes it by a day: TTL is the backstop
# that deletes garbage if the sweeper is ever off, never the mechanism that keeps counts.
TTL_GRACE = timedelta(days=1)


def connection_ttl(connection: Connection) -> int:
    """The TTL of the items a connection owns (indexes, memberships)."""
    return int((connection.expires_at + TTL_GRACE).timestamp())


def to_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def number(value: int | float) -> dict[str, str]:
    return {"N": str(value)}


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
    """The DynamoDB client and table name, with the helpers every store uses. Stores hold
    one (composition): a store is a set of access patterns, not a kind of table."""

    def __init__(self, client: Any, name: str, *, page_size: int | None = None) -> None:
        self.client = client
        self.name = name
        # Items per Query page; None lets DynamoDB fill 1 MB pages (tests use small pages).
        self._page_size = page_size

    # -- transaction actions ---------------------------------------------------------------

    def put(self, item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        action: dict[str, Any] = {"TableName": self.name, "Item": to_attributes(item)}
        if condition:
            action["ConditionExpression"] = condition
        return {"Put": action}

    def delete(
        self, pk: str, sk: str, condition: str | None = None, values: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        action: dict[str, Any] = {"TableName": self.name, "Key": key(pk, sk)}
        if condition:
            action["ConditionExpression"] = condition
        if values:
            action["ExpressionAttributeValues"] = values
        return {"Delete": action}

    def check(self, pk: str, sk: str, condition: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        action: dict[str, Any] = {"TableName": self.name, "Key": key(pk, sk), "ConditionExpression": condition}
        if values:
            action["ExpressionAttributeValues"] = values
        return {"ConditionCheck": action}

    def add(self, pk: str, sk: str, attribute: str, delta: int) -> dict[str, Any]:
        return self.update(pk, sk, "ADD #n :d", names={"#n": attribute}, values={":d": number(delta)})

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        *,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        return_on_failure: bool = False,
    ) -> dict[str, Any]:
        action: dict[str, Any] = {"TableName": self.name, "Key": key(pk, sk), "UpdateExpression": expression}
        if condition:
            action["ConditionExpression"] = condition
        if names:
            action["ExpressionAttributeNames"] = names
        if values:
            action["ExpressionAttributeValues"] = values
        if return_on_failure:  # a lost race returns the item as the winner left it
            action["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Update": action}

    # -- calls -----------------------------------------------------------------------------

    def get(self, pk: str, sk: str, projection: str | None = None) -> dict[str, Any] | None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": key(pk, sk), "ConsistentRead": True}
        if projection:
            kwargs["ProjectionExpression"] = projection
        with translated_errors():
            response = self.client.get_item(**kwargs)
        return from_attributes(response["Item"]) if "Item" in response else None

    def query(
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
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": consistent,
        }
        if projection:
            kwargs["ProjectionExpression"] = projection
        if names:
            kwargs["ExpressionAttributeNames"] = names
        pagination: dict[str, int] = {}
        if page_size or self._page_size:
            pagination["PageSize"] = self._page_size or page_size or 0
        if limit is not None:
            pagination["MaxItems"] = limit
        paginator = self.client.get_paginator("query")
        with translated_errors():
            for page in paginator.paginate(**kwargs, PaginationConfig=pagination):
                yield [from_attributes(item) for item in page["Items"]]

    def put_item(
        self,
        item: dict[str, Any],
        *,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> bool:
        """One PutItem; False when its condition failed."""
        kwargs = _expression({"TableName": self.name, "Item": to_attributes(item)}, condition, names, values)
        return self._conditional(self.client.put_item, kwargs) is not None

    def update_item(
        self,
        pk: str,
        sk: str,
        expression: str,
        *,
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        returns: str | None = None,
    ) -> dict[str, Any] | None:
        """One UpdateItem; the attributes it returns (with `returns`, e.g. "ALL_NEW"; else
        {}), or None when its condition failed."""
        kwargs = _expression(
            {"TableName": self.name, "Key": key(pk, sk), "UpdateExpression": expression}, condition, names, values
        )
        if returns:
            kwargs["ReturnValues"] = returns
        response = self._conditional(self.client.update_item, kwargs)
        return None if response is None else from_attributes(response.get("Attributes", {}))

    def delete_item(
        self, pk: str, sk: str, *, condition: str | None = None, values: dict[str, Any] | None = None
    ) -> bool:
        """One DeleteItem; False when its condition failed."""
        kwargs = _expression({"TableName": self.name, "Key": key(pk, sk)}, condition, None, values)
        return self._conditional(self.client.delete_item, kwargs) is not None

    def batch_get(self, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Items by pk (consistent reads), unprocessed keys retried."""
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {self.name: {"Keys": keys, "ConsistentRead": True}}
        with translated_errors():
            for attempt in range(TRANSACTION_ATTEMPTS):
                response = self.client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.name, []):
                    found[item["pk"]["S"]] = from_attributes(item)
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    return found
                _pause(attempt)
        raise ServiceUnavailable("DynamoDB kept keys unprocessed; retry later")

    def transact(self, actions: list[dict[str, Any]]) -> None:
        """Commit `actions` atomically. A failed condition raises TransactionCancelled;
        conflicts with concurrent transactions are retried with jitter."""
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                with translated_errors(passthrough={"TransactionCanceledException"}):
                    self.client.transact_write_items(TransactItems=actions)
                return
            except ClientError as exc:
                cancelled = exc.response.get("CancellationReasons", [])
                reasons = [reason.get("Code", "None") for reason in cancelled]
                if "ConditionalCheckFailed" in reasons:
                    raise TransactionCancelled(reasons, [reason.get("Item") for reason in cancelled]) from exc
                if attempt + 1 == TRANSACTION_ATTEMPTS:
                    raise ServiceUnavailable("DynamoDB transaction kept conflicting; retry later") from exc
                _pause(attempt)

    @staticmethod
    def _conditional(call: Callable[..., dict[str, Any]], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """The call's response, or None when its condition failed."""
        try:
            with translated_errors():
                return call(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return None


def _expression(
    kwargs: dict[str, Any], condition: str | None, names: dict[str, str] | None, values: dict[str, Any] | None
) -> dict[str, Any]:
    if condition:
        kwargs["ConditionExpression"] = condition
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = values
    return kwargs


def _pause(attempt: int) -> None:
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # noqa: S311 - jitter, not crypto


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
