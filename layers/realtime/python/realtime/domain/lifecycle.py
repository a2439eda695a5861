"""Lifecycle events the hub emits to the event bus: our equivalent of Pusher's and Azure
Web PubSub's webhooks. Each is one EventBridge entry: `source` is the configured
LIFECYCLE_SOURCE, `detail-type` the event's DETAIL_TYPE, `detail` the model (camelCase)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

CloseReason = Literal["client", "stale", "expired", "token-expired", "revoked"]


class LifecycleEvent(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, populate_by_name=True, serialize_by_alias=True)

    DETAIL_TYPE: ClassVar[str]

    def detail(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ConnectionOpened(LifecycleEvent):
    DETAIL_TYPE: ClassVar[str] = "Connection Opened"

    connection_id: str = Field(alias="connectionId")
    user_id: str = Field(alias="userId")
    groups: list[str] = Field(description="groups joined on connect")
    at: str = Field(description="ISO-8601 UTC")


class ConnectionClosed(LifecycleEvent):
    """`reason`: client ($disconnect), stale (410 Gone found by a delivery: the socket
    vanished without $disconnect), expired (removed by the sweeper after API Gateway's
    2-hour limit), token-expired (its token expired without a `refresh`: closed by the
    hub) or revoked (closed by an administrator)."""

    DETAIL_TYPE: ClassVar[str] = "Connection Closed"

    connection_id: str = Field(alias="connectionId")
    user_id: str = Field(alias="userId")
    reason: CloseReason
    groups: list[str] = Field(description="groups the connection was still in")
    at: str


class GroupOccupied(LifecycleEvent):
    """The group went from no member to one (strictly alternates with GroupVacated)."""

    DETAIL_TYPE: ClassVar[str] = "Group Occupied"

    group: str
    connection_id: str = Field(alias="connectionId", description="the member that joined")
    at: str


class GroupVacated(LifecycleEvent):
    """The last member of the group left."""

    DETAIL_TYPE: ClassVar[str] = "Group Vacated"

    group: str
    connection_id: str = Field(alias="connectionId", description="the member that left last")
    at: str


LIFECYCLE_EVENTS: tuple[type[LifecycleEvent], ...] = (ConnectionOpened, ConnectionClosed, GroupOccupied, GroupVacated)
