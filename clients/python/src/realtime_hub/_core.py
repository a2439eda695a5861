"""What the sync and the asyncio client share: the routes, how a call is described, and
when (and how long after) a failed attempt is retried."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from realtime.domain import event_types as et
from realtime_hub.errors import ApiError, TransportError, error_for

LOCAL_REST_URL = "http://127.0.0.1:8000/api/admin/realtime"
LOCAL_WS_URL = "ws://127.0.0.1:8000/ws"
BATCH_LIMIT = 100  # events per POST /publish (docs/protocol.md#batch)
MAX_KEY_LENGTH = 256

# The REST route of each event type (docs/protocol.md#event-types): it publishes to the
# type's default group.
EVENT_ROUTES: dict[type[et.EventData], str] = {
    et.PlatformStatus: "/broadcast/platform-update",
    et.AnalyticsUpdate: "/broadcast/analytics",
    et.UserCountUpdate: "/broadcast/user-count",
    et.GenerationMetrics: "/broadcast/generation-metrics",
    et.RevenueUpdate: "/broadcast/revenue",
    et.TestMessage: "/broadcast/test",
    et.Alert: "/alert",
    et.PerformanceAlert: "/alert/performance",
    et.UserAction: "/notify/user-action",
    et.RoleAssignment: "/notify/role-assignment",
    et.SystemEvent: "/notify/system-event",
}


def segment(value: str) -> str:
    """A path parameter, percent-encoded whole (a `/` in it stays in the segment)."""
    return quote(value, safe="")


def new_key() -> str:
    return uuid.uuid4().hex


def chunk_key(key: str, index: int) -> str:
    """The key of a batch's `index`th chunk of 100, derived from the caller's key (at most 256 characters)."""
    derived = f"{key}#{index}"
    return derived if len(derived) <= MAX_KEY_LENGTH else hashlib.sha256(derived.encode()).hexdigest()


@dataclass(frozen=True)
class Call:
    """One logical call: retried attempts send exactly this (same body, same key)."""

    method: str
    path: str
    json: Any = None
    params: dict[str, Any] | None = None
    idempotency_key: str | None = None

    @property
    def safe_to_repeat(self) -> bool:
        """Whether sending it twice does nothing twice: reads, and publishes with a key."""
        return self.method == "GET" or self.idempotency_key is not None

    def headers(self) -> dict[str, str]:
        return {"Idempotency-Key": self.idempotency_key} if self.idempotency_key is not None else {}


@dataclass(frozen=True)
class RetryPolicy:
    """At most `attempts` tries. 429 and 503 (nothing was done: the hub's throttling, a
    contended group) are retried after `Retry-After`, or with exponential backoff and full
    jitter; an answer that never came (a timeout, a dropped connection) and 502/504 only
    when the call is safe to repeat; a refused connection (nothing sent) always."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0
    max_retry_after: float = 60.0
    jitter: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        return self.jitter.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))

    def delay_after_answer(self, call: Call, attempt: int, error: ApiError) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to raise `error`."""
        if attempt + 1 >= self.attempts:
            return None
        if error.status in (429, 503):
            if error.retry_after is not None:
                return min(error.retry_after, self.max_retry_after)
            return self.backoff(attempt)
        if error.status in (502, 504) and call.safe_to_repeat:
            return self.backoff(attempt)
        if error.status == 409 and attempt > 0 and call.idempotency_key is not None:
            # Our own earlier attempt (same key, same body) is still running on the server.
            return self.backoff(attempt)
        return None

    def delay_after_failure(self, call: Call, attempt: int, exc: httpx.TransportError) -> float | None:
        if attempt + 1 >= self.attempts:
            return None
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        return self.backoff(attempt) if never_sent or call.safe_to_repeat else None


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    date = response.headers.get("Date")
    now = parsedate_to_datetime(date) if date else None
    if now is None:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
    return max(0.0, (moment - now).total_seconds())


def outcome(response: httpx.Response) -> Any:
    """The answer's JSON body, or raises its typed error."""
    try:
        body: Any = response.json() if response.content else None
    except ValueError:
        body = None
    if response.status_code >= 400:
        raise error_for(response.status_code, body, retry_after(response))
    if body is None and response.content:
        raise ApiError(response.status_code, "InvalidResponse", "the hub's answer is not JSON", body=response.text)
    return body


def transport_error(call: Call, exc: httpx.TransportError) -> TransportError:
    error = TransportError(f"{call.method} {call.path}: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


def publish_call(data: et.EventData, *, group: str | None, user_id: str | None, idempotency_key: str | None) -> Call:
    from realtime_hub.models import Event

    return Call("POST", "/publish", Event(data=data, group=group, user_id=user_id).body(), None, idempotency_key)


def event_call(data: et.EventData, idempotency_key: str | None, route: str | None = None) -> Call:
    route = route or EVENT_ROUTES.get(type(data))
    if route is None:
        raise TypeError(f"{type(data).__qualname__} is not one of the hub's event models")
    return Call("POST", route, et.normalise(data), None, idempotency_key)
