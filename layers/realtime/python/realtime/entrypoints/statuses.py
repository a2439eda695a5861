"""The HTTP status of each domain error: what the REST API answers, and what `$connect`
returns to API Gateway. The only place the domain's errors meet HTTP."""

from __future__ import annotations

from realtime import errors

STATUS: dict[type[errors.RealtimeError], int] = {
    errors.InvalidMessage: 400,
    errors.UnknownAction: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.UnknownGroup: 404,
    errors.UnknownMessage: 404,
    errors.UnknownConnection: 404,
    errors.NoSuchRoute: 404,
    errors.MethodNotAllowed: 405,
    errors.RecoveryFailed: 409,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.ValidationFailed: 422,
    errors.RateLimited: 429,
    errors.ServiceUnavailable: 503,
}
_BY_CODE = {error.code: status for error, status in STATUS.items()}


def http_status(error: errors.RealtimeError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def status_of(code: str) -> int:
    """The status of an error known by its code (a refused event of a batch)."""
    return _BY_CODE.get(code, 500)
