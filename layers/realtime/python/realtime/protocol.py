"""The WebSocket client protocol: the actions a dashboard sends, as pydantic models.

Route selection in API Gateway is `$request.body.action`; every action lands in the same
dispatcher (realtime.entrypoints.websocket), which validates the frame with these models.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from realtime.errors import InvalidMessage, UnknownAction, ValidationFailed, error_details

RequestId = Annotated[str, Field(min_length=1, max_length=128)]
GroupName = Annotated[str, Field(min_length=1, max_length=64)]
UserId = Annotated[str, Field(min_length=1, max_length=256)]
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=256)]


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

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


ClientAction = Annotated[
    Subscribe | Unsubscribe | GetPlatformStats | GetConnectionCount | GetPresence | Publish | Ping,
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
)
_adapter: TypeAdapter[ClientAction] = TypeAdapter(ClientAction)


def load_frame(body: str | None) -> dict[str, Any]:
    """The frame as a JSON object, or InvalidMessage."""
    try:
        raw = json.loads(body or "")
    except (ValueError, RecursionError) as exc:
        raise InvalidMessage("the message is not valid JSON") from exc
    if not isinstance(raw, dict):
        raise InvalidMessage("the message must be a JSON object with an 'action' field")
    return raw


def parse_action(raw: dict[str, Any]) -> ClientAction:
    action = raw.get("action")
    if action not in ACTIONS:
        raise UnknownAction(f"unknown action {action!r}; expected one of: {', '.join(ACTIONS)}")
    try:
        return _adapter.validate_python(raw)
    except ValidationError as exc:
        details = error_details(exc)
        for detail in details:  # the discriminated union prefixes every location with its tag
            if detail["loc"][:1] == [action]:
                detail["loc"] = detail["loc"][1:]
        raise ValidationFailed(f"invalid {action} message", details=details) from exc


def echo_request_id(raw: dict[str, Any] | None) -> str | None:
    value = raw.get("requestId") if raw else None
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


def error_reply(code: str, message: str, request_id: str | None, details: Any = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "Error", "code": code, "message": message, "requestId": request_id}
    if details:
        reply["errors"] = details
    return reply
