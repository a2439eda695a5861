"""Domain errors. Every error a client can trigger has a stable `code` (documented in
docs/protocol.md) and the HTTP status the REST API answers with."""

from __future__ import annotations

from typing import Any, ClassVar


class RealtimeError(Exception):
    code: ClassVar[str] = "InternalError"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidMessage(RealtimeError):
    """The WebSocket frame is not a JSON object."""

    code = "InvalidMessage"
    http_status = 400


class UnknownAction(RealtimeError):
    code = "UnknownAction"
    http_status = 400


class UnknownGroup(RealtimeError):
    code = "UnknownGroup"
    http_status = 404


class UnknownMessage(RealtimeError):
    """No queued message with this id (inline publishes answer with their counts)."""

    code = "UnknownMessage"
    http_status = 404


class ValidationFailed(RealtimeError):
    code = "ValidationError"
    http_status = 422


class PayloadTooLarge(RealtimeError):
    code = "PayloadTooLarge"
    http_status = 413


class RecoveryFailed(RealtimeError):
    """A resume replay could not complete; the client must reload its state."""

    code = "RecoveryFailed"
    http_status = 409


class Conflict(RealtimeError):
    """An Idempotency-Key reused with a different request, or still in progress."""

    code = "IdempotencyConflict"
    http_status = 409


class Unauthorized(RealtimeError):
    """No token, or a token that fails verification."""

    code = "Unauthorized"
    http_status = 401


class Forbidden(RealtimeError):
    """A valid identity without the role the action requires."""

    code = "Forbidden"
    http_status = 403


class ServiceUnavailable(RealtimeError):
    """A dependency is throttling or failing; the caller may retry."""

    code = "ServiceUnavailable"
    http_status = 503


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


def error_details(exc: Any, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """A pydantic ValidationError as a list of {loc, msg, type}, naming each offending field.

    The input value is left out on purpose: it may be large or carry a secret."""
    return [
        {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
