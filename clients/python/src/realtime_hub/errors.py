"""Typed exceptions: every refusal of the hub is raised with its stable `code`, its
`message` and its field `errors` (docs/protocol.md#errors)."""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Base of every error this client raises."""


class TransportError(HubError):
    """The hub could not be reached, or the connection failed before an answer arrived."""


class ApiError(HubError):
    """The hub answered with an error: `{"code","message","errors?"}` and an HTTP status."""

    code: str = "Error"

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        *,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors: list[dict[str, Any]] = list(errors or [])
        self.retry_after = retry_after
        self.body = body


class BadRequest(ApiError):
    """Any other 4xx, e.g. API Gateway's own `BadRequest`."""


class Unauthorized(ApiError):
    """401: missing, expired or invalid token."""


class Forbidden(ApiError):
    """403: a valid identity without the required role."""


class NotFound(ApiError):
    """404: `UnknownGroup`, `UnknownMessage`, `UnknownConnection` or `NotFound` (see `code`)."""


class MethodNotAllowed(ApiError):
    """405."""


class IdempotencyConflict(ApiError):
    """409: the idempotency key was used with another request, or that request is still running."""


class PayloadTooLarge(ApiError):
    """413."""


class UnsupportedMediaType(ApiError):
    """415."""


class ValidationError(ApiError):
    """422: `errors` names each offending field (`loc`, `msg`, `type`)."""


class RateLimited(ApiError):
    """429: throttled; `retry_after` in seconds when the hub said."""


class ServerError(ApiError):
    """5xx other than 503 (`InternalError`, a gateway timeout...)."""


class ServiceUnavailable(ServerError):
    """503: nothing was done; retry after `retry_after`."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: IdempotencyConflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationError,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_for(status: int, body: Any, retry_after: float | None = None) -> ApiError:
    """The exception for an error answer, from its status and its `{"code","message","errors"}` body."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else BadRequest)
    fields = body if isinstance(body, dict) else {}
    code = fields.get("code") if isinstance(fields.get("code"), str) else cls.__name__
    message = fields.get("message") if isinstance(fields.get("message"), str) else f"HTTP {status}"
    errors = fields.get("errors") if isinstance(fields.get("errors"), list) else None
    return cls(status, str(code), str(message), errors, retry_after=retry_after, body=body)
