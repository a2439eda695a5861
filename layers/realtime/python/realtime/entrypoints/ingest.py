"""EventBridge ingestion: an event with detail-type INGEST_DETAIL_TYPE is published
exactly like REST `POST /publish`, with the same validation.

- `detail` is a publish request, `{group | userId, type, data}`, plus an optional
  `idempotencyKey`; without one the event's `id` is the key, so a redelivery of the same
  event (EventBridge delivers at least once) publishes nothing new.
- The caller is the event's source (`eventbridge:<source>`), trusted with the publish role:
  who may put events on the bus is decided by IAM on the bus.
- An event that can never be published (invalid detail, unknown group or event type, too
  large, a key reused with another request) goes to the dead-letter queue with its reason,
  and the invocation succeeds. A transient failure (DynamoDB throttling, SQS unavailable)
  raises, so Lambda retries the event and then hands it to the on-failure destination.
"""

from __future__ import annotations

from typing import Any, Protocol

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from pydantic import Field, ValidationError

from realtime.adapters.dead_letters import DeadLetter
from realtime.bootstrap import Hub
from realtime.config import IngestSettings
from realtime.domain.models import Identity, PublishRequest
from realtime.entrypoints.event_models import EventBridgeModel
from realtime.errors import (
    Conflict,
    Forbidden,
    PayloadTooLarge,
    RealtimeError,
    UnknownGroup,
    ValidationFailed,
    error_details,
)
from realtime.observability import MetricUnit, logger, metrics

IDENTITY_PREFIX = "eventbridge:"
MAX_IDEMPOTENCY_KEY_LENGTH = 256
# What retrying can never fix: the event goes to the dead-letter queue. Any other error
# (ServiceUnavailable, an AWS error) fails the invocation, and Lambda retries it.
REJECTED = (ValidationFailed, UnknownGroup, PayloadTooLarge, Forbidden, Conflict)


class DeadLetterQueue(Protocol):
    def send_dead_letter(self, letter: DeadLetter) -> str:
        """Keep a refused event with its reason. Raises ServiceUnavailable when it cannot."""


class IngestDetail(PublishRequest):
    """The `detail` of an ingested event: a publish request (the REST model), plus a key."""

    idempotency_key: str | None = Field(
        default=None, alias="idempotencyKey", min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH
    )

    def publish_request(self) -> PublishRequest:
        return PublishRequest(group=self.group, user_id=self.user_id, type=self.type, data=self.data)


def on_event(
    event: dict[str, Any],
    hub: Hub,
    dead_letters: DeadLetterQueue,
    settings: IngestSettings,
    context: Any = None,
) -> dict[str, Any]:
    """Publish one EventBridge event; its publish response, or where it was sent instead."""
    try:
        parsed, detail = _parse(event, settings, hub.settings.lifecycle_source)
        identity = Identity(user_id=f"{IDENTITY_PREFIX}{parsed.source}", roles=frozenset({hub.settings.publish_role}))
        request = detail.publish_request()
        key = detail.idempotency_key or f"event:{parsed.id}"
        try:
            result = hub.publishing.publish_once("eventbridge", key, identity, request, context)
        except ValidationFailed as exc:  # its fields are the detail's: name them from the event
            details = [{**d, "loc": ["detail", *d["loc"]]} for d in exc.details or []]
            raise ValidationFailed(exc.message, details=details) from exc
    except REJECTED as exc:
        if isinstance(exc, Conflict) and isinstance(exc.__cause__, IdempotencyAlreadyInProgressError):
            raise  # a concurrent delivery of the same event is still running: retry later
        return _reject(event, exc, dead_letters)
    return {"status": "published", **result.model_dump(mode="json", by_alias=True)}


def _parse(
    event: dict[str, Any], settings: IngestSettings, lifecycle_source: str
) -> tuple[EventBridgeModel, IngestDetail]:
    try:
        parsed = EventBridgeModel.model_validate(event)
    except ValidationError as exc:
        raise ValidationFailed("not an EventBridge event", details=error_details(exc)) from exc
    if parsed.detail_type != settings.detail_type:
        raise ValidationFailed(
            f"detail-type {parsed.detail_type!r} is not ingested; use {settings.detail_type!r}",
            details=[{"loc": ["detail-type"], "msg": f"expected {settings.detail_type!r}", "type": "value_error"}],
        )
    if parsed.source == lifecycle_source:
        raise Forbidden(f"source {lifecycle_source!r} is the hub's own (lifecycle events); use another source")
    try:
        detail = IngestDetail.model_validate(parsed.detail)
    except ValidationError as exc:
        raise ValidationFailed(
            "the event's detail is not a valid publish request", details=error_details(exc, ("detail",))
        ) from exc
    return parsed, detail


def _reject(event: dict[str, Any], error: RealtimeError, dead_letters: DeadLetterQueue) -> dict[str, Any]:
    letter = DeadLetter(reason=error.code, message=error.message, errors=error.details or [], event=event)
    message_id = dead_letters.send_dead_letter(letter)
    metrics.add_metric(name="IngestRejected", unit=MetricUnit.Count, value=1)
    logger.warning(
        "event refused: sent to the dead-letter queue",
        extra={
            "reason": error.code,
            "error_message": error.message,
            "errors": error.details or [],
            "event_id": event.get("id"),
            "source": event.get("source"),
            "detail_type": event.get("detail-type"),
            "dead_letter_id": message_id,
        },
    )
    return {"status": "rejected", "reason": error.code, "message": error.message, "deadLetterId": message_id}
