"""Idempotent publishing with Powertools' idempotency utility, stored in the hub's table.

A retry with the same key (per caller) within the window returns the first response and
delivers nothing new; the same key with a different request is a conflict (409)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from realtime.adapters.dynamodb import PK, SK, TTL_ATTRIBUTE
from realtime.errors import Conflict, ServiceUnavailable

IDEMPOTENCY_PK = "IDEMPOTENCY"
WINDOW_SECONDS = 3600


class IdempotentRunner:
    def __init__(self, table_name: str, client: Any = None, window_seconds: int = WINDOW_SECONDS) -> None:
        self._store = DynamoDBPersistenceLayer(
            table_name=table_name,
            key_attr=PK,
            sort_key_attr=SK,
            static_pk_value=IDEMPOTENCY_PK,
            expiry_attr=TTL_ATTRIBUTE,  # the table's TTL deletes expired records
            boto3_client=client,
        )
        self._config = IdempotencyConfig(
            event_key_jmespath="key",
            payload_validation_jmespath="request",
            expires_after_seconds=window_seconds,
        )

    def run(
        self,
        key: str | None,
        scope: tuple[str, ...],
        request: Any,
        compute: Callable[[], dict[str, Any]],
        lambda_context: Any = None,
    ) -> dict[str, Any]:
        """`compute()` once per (scope, key); without a key, simply `compute()`. The record's
        key is a hash of the JSON array [*scope, key]: unambiguous whatever the parts hold
        (joining them with a separator would let one caller's key collide with another's)."""
        if key is None:
            return compute()
        if lambda_context is not None:  # an in-progress record expires with the invocation
            self._config.register_lambda_context(lambda_context)

        @idempotent_function(data_keyword_argument="call", persistence_store=self._store, config=self._config)
        def publish_once(call: dict[str, Any]) -> dict[str, Any]:
            return compute()

        try:
            result: dict[str, Any] = publish_once(call={"key": [*scope, key], "request": request})
        except IdempotencyValidationError as exc:
            raise Conflict("this Idempotency-Key was already used with a different request") from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise Conflict("a request with this Idempotency-Key is still in progress; retry later") from exc
        except IdempotencyPersistenceLayerError as exc:
            raise ServiceUnavailable("the idempotency store is unavailable; retry later") from exc
        return result
