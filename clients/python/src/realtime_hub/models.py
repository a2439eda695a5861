"""What the REST API answers, as pydantic models. The event models (what a publish sends)
are the server's own, imported from `realtime.domain.event_types`; these answers accept
fields a newer hub may add (extra="allow"), so a client never breaks on a new field."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from realtime.domain.event_types import EVENT_TYPES, EventData, normalise
from realtime.domain.models import Envelope

__all__ = [
    "EVENT_TYPES",
    "BatchResult",
    "Envelope",
    "Event",
    "EventData",
    "HistoryPage",
    "Me",
    "MessageProgress",
    "PlatformSnapshot",
    "Presence",
    "Published",
    "event_type_of",
]


class Answer(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)


class Published(Answer):
    """A publish's answer: inline (`delivered`, `gone`, `failed` after the fan-out) or, to a
    large group, queued (`status="queued"`: poll `message(id)` or `wait_until_done`)."""

    id: str
    type: str | None = None
    group: str | None = None
    user_id: str | None = None
    seq: int
    recipients: int = 0
    delivered: int | None = None
    gone: int | None = None
    failed: int | None = None
    status: str | None = None

    @property
    def queued(self) -> bool:
        return self.status == "queued"


class BatchResult(Answer):
    """One event's result in a batch, in the order sent: `status` 200 (published), 202
    (queued) or an error status with `code`, `message` and `errors`."""

    status: int
    id: str | None = None
    type: str | None = None
    group: str | None = None
    user_id: str | None = None
    seq: int | None = None
    recipients: int | None = None
    delivered: int | None = None
    gone: int | None = None
    failed: int | None = None
    queued: bool = False
    code: str | None = None
    message: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in (200, 202)


class Presence(Answer):
    group: str
    connections: int
    users: int
    last_seq: int
    epoch: str | None = None
    user_ids: list[str] | None = None


class HistoryPage(Answer):
    items: list[Envelope]
    next: int | None = None


class MessageProgress(Answer):
    id: str
    group: str | None = None
    seq: int | None = None
    status: str
    recipients: int = 0
    delivered: int = 0
    gone: int = 0
    failed: int = 0
    slices: int | None = None
    slices_done: int | None = None
    done: bool = False


class Me(Answer):
    user_id: str
    roles: list[str]
    expires_at: str | None = None
    can_connect: bool = False
    can_publish: bool = False
    groups: Any = None


class PlatformSnapshot(Answer):
    connections: int
    groups: dict[str, int]
    latest: dict[str, Envelope] = Field(default_factory=dict)


def event_type_of(data: EventData) -> str:
    """The event type name of a data model: its class name (`Alert`, `UserCountUpdate`...)."""
    name = type(data).__name__
    if EVENT_TYPES.get(name, (None,))[0] is not type(data):
        raise TypeError(f"{type(data).__qualname__} is not one of the hub's event models: {', '.join(EVENT_TYPES)}")
    return name


class Event(BaseModel):
    """One event of a batch: its data model and where it goes (its type's default group
    unless `group` or `user_id` says otherwise)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    data: EventData
    group: str | None = None
    user_id: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Event:
        if self.group is not None and self.user_id is not None:
            raise ValueError("an event goes to a group or to a user, not both")
        return self

    def body(self) -> dict[str, Any]:
        event_type = event_type_of(self.data)
        target: dict[str, Any]
        if self.user_id is not None:
            target = {"userId": self.user_id}
        else:
            target = {"group": self.group or EVENT_TYPES[event_type][1]}
        return {**target, "type": event_type, "data": normalise(self.data)}
