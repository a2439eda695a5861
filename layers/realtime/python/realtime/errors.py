"""Domain errors. Every error a client can trigger has a stable `code` (documented in
docs/protocol.md); the HTTP status each answers with is the REST face's business
(realtime/entrypoints/statuses.py)."""

from __future__ import annotations

from typing import Any, ClassVar


class RealtimeError(Exception):
    code: ClassVar[str] = "InternalError"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        # Bounded whatever the caller echoed into it: an error answer must always fit in
        # one WebSocket message (128 KB) and never reflect a flood back.
        message = _short(message, MAX_MESSAGE_LENGTH)
        super().__init__(message)
        self.message = message
        self.details = bounded_details(details) if details else details


class InvalidMessage(RealtimeError):
    """The WebSocket frame is not a JSON object."""

    code = "InvalidMessage"


class UnknownAction(RealtimeError):
    code = "UnknownAction"


class UnknownGroup(RealtimeError):
    code = "UnknownGroup"


class UnknownMessage(RealtimeError):
    """No queued message with this id (inline publishes answer with their counts)."""

    code = "UnknownMessage"


class UnknownConnection(RealtimeError):
    """No open connection with this id (revoking), or it is closing (refresh)."""

    code = "UnknownConnection"


class NoSuchRoute(RealtimeError):
    """The REST API has no route at this path."""

    code = "NotFound"

    def __init__(self) -> None:
        super().__init__("no such route")


class MethodNotAllowed(RealtimeError):
    code = "MethodNotAllowed"


class UnsupportedMediaType(RealtimeError):
    """A REST body that is not JSON (Content-Type other than application/json)."""

    code = "UnsupportedMediaType"


class RateLimited(RealtimeError):
    """Too many actions, or too much replayed, on one connection: retry after `retry_after` seconds."""

    code = "RateLimited"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(0.0, round(retry_after, 3))


class ValidationFailed(RealtimeError):
    code = "ValidationError"


class PayloadTooLarge(RealtimeError):
    code = "PayloadTooLarge"


class RecoveryFailed(RealtimeError):
    """A resume replay could not complete; the client must reload its state."""

    code = "RecoveryFailed"


class Conflict(RealtimeError):
    """An Idempotency-Key reused with a different request, or still in progress."""

    code = "IdempotencyConflict"


class Unauthorized(RealtimeError):
    """No token, or a token that fails verification."""

    code = "Unauthorized"


class Forbidden(RealtimeError):
    """A valid identity without the role the action requires."""

    code = "Forbidden"


class ServiceUnavailable(RealtimeError):
    """A dependency is throttling or failing, or one group's seq is too contended; the
    caller may retry (REST: after `Retry-After`)."""

    code = "ServiceUnavailable"
    retry_after = 1


# Errors raised by adapters. They are not client errors; the domain decides what they mean.


class ConnectionGone(Exception):
    """The connection no longer exists at API Gateway (410 Gone)."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(connection_id)
        self.connection_id = connection_id


class RetryableError(Exception):
    """Throttling (429), a 5xx or a network error: trying again later may succeed."""


class SendFailed(Exception):
    """A delivery that retrying will not fix (for example 403 from the Management API)."""


MAX_FIELD_ERRORS = 20
MAX_MESSAGE_LENGTH = 1000
_MAX_TEXT = 200
_MAX_LOC_STEP = 64


def error_details(exc: Any, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """A pydantic ValidationError as a list of {loc, msg, type}, naming each offending field.
    The input value is left out: it may be large or carry a secret."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    return bounded_details([{"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in errors])


def bounded_details(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Field errors bounded whatever the input: names and messages cut short, and beyond
    MAX_FIELD_ERRORS the last entry says how many more there were (an error answer must
    fit in a WebSocket message, 128 KB, and never echo a flood back)."""
    kept = [
        {
            "loc": [_short(step) for step in detail.get("loc", [])][:_MAX_LOC_STEPS],
            "msg": _short(str(detail.get("msg", "")), _MAX_TEXT),
            "type": _short(str(detail.get("type", "")), _MAX_LOC_STEP),
        }
        for detail in details[:MAX_FIELD_ERRORS]
    ]
    if len(details) > MAX_FIELD_ERRORS:
        kept[-1] = {
            "loc": [],
            "msg": f"{len(details) - MAX_FIELD_ERRORS + 1} more errors not listed (at most {MAX_FIELD_ERRORS} are)",
            "type": "too_many_errors",
        }
    return kept


MAX_FIELD_ERRORS = 20
MAX_MESSAGE_LENGTH = 1000
_MAX_TEXT = 200
_MAX_LOC_STEP = 64
_MAX_LOC_STEPS = 12


def _short(value: Any, limit: int = _MAX_LOC_STEP) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    return value


def brief(value: object, limit: int = _MAX_LOC_STEP) -> str:
    """A client-supplied value, cut to `limit` characters for an error message (here, not in
    realtime.payload, so that realtime.domain.access stays pydantic-free: the authorizers)."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
