"""The WebSocket client protocol, as pydantic models: the actions a dashboard sends and
the replies it gets. The TypeScript SDK's types are generated from these models (and from
the event types in realtime.domain.event_types) by `python -m realtime.schema`.

Route selection in API Gateway is `$request.body.action`; every action lands in the same
dispatcher (realtime.entrypoints.websocket), which validates the frame with these models.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from realtime import payload
from realtime.domain.models import Envelope
from realtime.errors import (
    InvalidMessage,
    RateLimited,
    RealtimeError,
    UnknownAction,
    ValidationFailed,
    error_details,
)
from realtime.payload import brief

RequestId = Annotated[str, Field(min_length=1, max_length=128)]
GroupName = Annotated[str, Field(min_length=1, max_length=64)]
UserId = Annotated[str, Field(min_length=1, max_length=256)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=256)]


class _Action(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", populate_by_name=True)

    request_id: RequestId | None = Field(default=None, alias="requestId")


class Subscribe(_Action):
    action: Literal["subscribe"]
    group: GroupName
    # Resume: the last seq received and the epoch it came with (from an envelope or Subscribed).
    since: Annotated[int, Field(ge=0)] | None = None
    epoch: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class Unsubscribe(_Action):
    action: Literal["unsubscribe"]
    group: GroupName


class GetPlatformStats(_Action):
    action: Literal["getPlatformStats"]


class GetConnectionCount(_Action):
    action: Literal["getConnectionCount"]


class Publish(_Action):
    action: Literal["publish"]
    group: GroupName | None = None
    user_id: UserId | None = Field(default=None, alias="userId")
    type: Annotated[str, Field(min_length=1, max_length=64)]
    data: dict[str, Any]
    idempotency_key: IdempotencyKey | None = Field(default=None, alias="idempotencyKey")


class GetPresence(_Action):
    action: Literal["getPresence"]
    group: GroupName


class Ping(_Action):
    action: Literal["ping"]


class Refresh(_Action):
    """A fresh token for this connection (same user), before the current one expires."""

    action: Literal["refresh"]
    token: Annotated[str, Field(min_length=1, max_length=8192)]


ClientAction = Annotated[
    Subscribe | Unsubscribe | GetPlatformStats | GetConnectionCount | GetPresence | Publish | Ping | Refresh,
    Field(discriminator="action"),
]
ACTIONS = (
    "subscribe",
    "unsubscribe",
    "getPlatformStats",
    "getConnectionCount",
    "getPresence",
    "publish",
    "ping",
    "refresh",
)


@cache
def action_adapter() -> TypeAdapter[ClientAction]:
    """Built by the message function at its cold start, by no other (several import this module)."""
    return TypeAdapter(ClientAction)


def load_frame(body: str | bytes | None) -> dict[str, Any]:
    """The frame as a JSON object within the payload limits; InvalidMessage when it is not
    JSON at all (or not UTF-8), ValidationError when it breaks a limit."""
    try:
        raw = payload.loads(body or "", max_depth=payload.MAX_DEPTH + 1)  # `data` sits one level down
    except payload.PayloadRejected as exc:
        if exc.details and exc.details[0]["type"] in {"json_invalid", "utf8"}:
            raise InvalidMessage(f"the message is not valid JSON: {exc.message}") from None
        raise
    if not isinstance(raw, dict):
        raise InvalidMessage("the message must be a JSON object with an 'action' field")
    return raw


def parse_action(raw: dict[str, Any]) -> ClientAction:
    action = raw.get("action")
    if action not in ACTIONS:
        raise UnknownAction(f"unknown action {brief(action)!r}; expected one of: {', '.join(ACTIONS)}")
    try:
        return action_adapter().validate_python(raw)
    except ValidationError as exc:
        details = error_details(exc)
        for detail in details:  # the discriminated union prefixes every location with its tag
            if detail["loc"][:1] == [action]:
                detail["loc"] = detail["loc"][1:]
        raise ValidationFailed(f"invalid {action} message", details=details) from exc


def echo_request_id(raw: dict[str, Any] | None) -> str | None:
    value = raw.get("requestId") if raw else None
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


# -- replies ----------------------------------------------------------------------------


class _Reply(BaseModel):
    model_config = ConfigDict(defer_build=True, populate_by_name=True, serialize_by_alias=True)

    request_id: str | None = Field(default=None, alias="requestId", description="the action's, echoed")

    def frame(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class Subscribed(_Reply):
    type: Literal["Subscribed"] = "Subscribed"
    group: str
    seq: int = Field(description="the group's last seq: every message after it is delivered, none before")
    epoch: str
    recovered: bool | None = Field(
        default=None, description="only when resuming (`since`): whether the gap is replayed"
    )


class Unsubscribed(_Reply):
    type: Literal["Unsubscribed"] = "Unsubscribed"
    group: str


class PlatformSnapshot(BaseModel):
    model_config = ConfigDict(defer_build=True)

    connections: int
    groups: dict[str, int] = Field(description="members of each group the caller may read")
    latest: dict[str, Envelope] = Field(description="the last envelope of each event type (readable groups only)")


class PlatformStats(_Reply):
    type: Literal["PlatformStats"] = "PlatformStats"
    data: PlatformSnapshot


class ConnectionCounts(BaseModel):
    model_config = ConfigDict(defer_build=True)

    connections: int
    groups: dict[str, int]


class ConnectionCount(_Reply):
    type: Literal["ConnectionCount"] = "ConnectionCount"
    data: ConnectionCounts


class GroupPresence(BaseModel):
    model_config = ConfigDict(defer_build=True, populate_by_name=True, serialize_by_alias=True)

    group: str
    connections: int
    users: int = Field(description="distinct user ids with a connection in the group")
    last_seq: int = Field(alias="lastSeq")
    epoch: str
    user_ids: list[str] | None = Field(default=None, alias="userIds", description="when at most 100 users")


class PresenceReply(_Reply):
    type: Literal["Presence"] = "Presence"
    data: GroupPresence


class Published(_Reply):
    """A publish's answer: the counts of an inline fan-out, or `status: "queued"`."""

    type: Literal["Published"] = "Published"
    event_type: str = Field(alias="eventType")
    id: str
    group: str | None = None
    user_id: str | None = Field(default=None, alias="userId")
    seq: int
    recipients: int
    delivered: int | None = None
    gone: int | None = None
    failed: int | None = None
    status: Literal["queued"] | None = None


class Pong(_Reply):
    type: Literal["Pong"] = "Pong"


class Refreshed(_Reply):
    type: Literal["Refreshed"] = "Refreshed"
    expires_at: str = Field(alias="expiresAt", description="the new token's expiry, ISO-8601 UTC")
    unsubscribed: list[str] | None = Field(default=None, description="groups the new token may no longer read")


ErrorCode = Literal[
    "InvalidMessage",
    "UnknownAction",
    "UnknownGroup",
    "UnknownMessage",
    "UnknownConnection",
    "ValidationError",
    "PayloadTooLarge",
    "RecoveryFailed",
    "IdempotencyConflict",
    "Unauthorized",
    "Forbidden",
    "RateLimited",
    "ServiceUnavailable",
    "MethodNotAllowed",
    "UnsupportedMediaType",
    "NotFound",
    "BadRequest",
    "InternalError",
]


class FieldError(BaseModel):
    model_config = ConfigDict(defer_build=True)

    loc: list[str | int]
    msg: str
    type: str


class ErrorReply(_Reply):
    type: Literal["Error"] = "Error"
    code: ErrorCode
    message: str
    errors: list[FieldError] | None = Field(default=None, description="the offending fields (at most 20)")
    retry_after: float | None = Field(default=None, alias="retryAfter", description="RateLimited: seconds to wait")
    group: str | None = Field(default=None, description="RecoveryFailed/RateLimited of a replay: its group")


ServerReply = Annotated[
    Subscribed
    | Unsubscribed
    | PlatformStats
    | ConnectionCount
    | PresenceReply
    | Published
    | Pong
    | Refreshed
    | ErrorReply,
    Field(discriminator="type"),
]


def error_frame(error: RealtimeError, *, request_id: str | None = None, group: str | None = None) -> dict[str, Any]:
    return ErrorReply(
        code=error.code,  # every RealtimeError code is an ErrorCode (tested)
        message=error.message,
        request_id=request_id,
        errors=[FieldError.model_validate(detail) for detail in error.details] if error.details else None,
        retry_after=error.retry_after if isinstance(error, RateLimited) else None,
        group=group,
    ).frame()
