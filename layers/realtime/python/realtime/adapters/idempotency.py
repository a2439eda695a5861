"""The Idempotency port: Powertools' idempotency utility, stored in the hub's table.

A retry with the same key (per face and caller) within the window returns the first
response — a pydantic model, stored as JSON and validated back — and delivers nothing new;
the same key with a different request is a conflict (409)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

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
from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer
from pydantic import BaseModel

from realtime.adapters.dynamodb.keys import IDEMPOTENCY_PK, PK, SK, TTL_ATTRIBUTE
from realtime.errors import Conflict, ServiceUnavailable

M = TypeVar("M", bound=BaseModel)
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
        compute: Callable[[], M],
        result: type[M],
        invocation: Any = None,
    ) -> M:
        """`compute()` once per (scope, key); without a key, simply `compute()`. The record's
        key is a hash of the JSON array [*scope, key]: unambiguous whatever the parts hold
        (joining them with a separator would let one caller's key collide with another's)."""
        if key is None:
            return compute()
        if invocation is not None:  # an in-progress record expires with the invocation
            self._config.register_lambda_context(invocation)

        @idempotent_function(
            data_keyword_argument="call",
            persistence_store=self._store,
            config=self._config,
            output_serializer=PydanticSerializer(result),
        )
        def once(call: dict[str, Any]) -> M:
            return compute()

        try:
            answer: M = once(call={"key": [*scope, key], "request": request})
        except IdempotencyValidationError as exc:
            raise Conflict("this Idempotency-Key was already used with a different request") from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise Conflict("a request with this Idempotency-Key is still in progress; retry later") from exc
        except IdempotencyPersistenceLayerError as exc:
            raise ServiceUnavailable("the idempotency store is unavailable; retry later") from exc
        return answer
