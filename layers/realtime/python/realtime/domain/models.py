"""Value objects shared by the domain services and their ports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, SerializerFunctionWrapHandler, model_serializer

# Re-exported: Identity lives in a pydantic-free module, for the authorizers.
from realtime.domain.identity import Identity


class Connection(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True)

    connection_id: str
    user_id: str
    roles: frozenset[str]
    connected_at: datetime
    # API Gateway's 2-hour limit (plus a margin): the data's lifetime.
    expires_at: datetime
    # The token's expiry (moved on by `refresh`); None for connections recorded before it existed.
    token_expires_at: datetime | None = None
    # When the sweeper looks at it: expires_at, or the token's expiry plus the grace if sooner.
    sweep_at: datetime | None = None

    @property
    def identity(self) -> Identity:
        return Identity(user_id=self.user_id, roles=self.roles, expires_at=self.token_expires_at)

    def token_expired(self, now: datetime, grace_seconds: float) -> bool:
        return self.token_expires_at is not None and now.timestamp() > self.token_expires_at.timestamp() + grace_seconds


_TARGET_KEYS = {"group", "userId", "user_id"}


class Envelope(BaseModel):
    """What every subscriber receives. `seq` is per group (or per targeted user): 1, 2, 3…
    with no gaps; `epoch` changes only if that sequence is ever reset."""

    model_config = ConfigDict(defer_build=True, frozen=True, populate_by_name=True)

    type: str
    group: str | None = None
    user_id: str | None = Field(default=None, alias="userId")
    id: str
    seq: int = Field(ge=1)
    epoch: str
    ts: str
    data: dict[str, Any]

    @model_serializer(mode="wrap")
    def _omit_the_unused_target(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A message goes to a group or a user: the other key is left out, not sent as null.
        return {k: v for k, v in handler(self).items() if not (k in _TARGET_KEYS and v is None)}

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class HistoryPage(BaseModel):
    """Stored messages after a seq, in order. `first_seq`/`last_seq` are the first and last
    seqs the page covered, readable or not: an unreadable item (skipped, listed in
    `skipped`) still counts, so a reader moves past it without seeing a false gap."""

    model_config = ConfigDict(defer_build=True)

    items: list[Envelope]
    more: bool
    first_seq: int | None = None
    last_seq: int | None = None
    skipped: list[int] = Field(default_factory=list)


class GroupState(BaseModel):
    model_config = ConfigDict(defer_build=True)

    seq: int = 0
    epoch: str
    members: int = 0
    # Membership shards in use (never fewer than the peak membership needed).
    shards: int = 1
    # Queued messages whose fan-out has not finished: while any is, the group's messages
    # keep being queued, so a sequential publisher's messages arrive in seq order.
    pending: int = 0
    # Whether the group has been reported occupied (lifecycle events; kept only with a bus).
    occupied: bool = False


JoinOutcome = Literal["joined", "occupied", "member"]
"""joined; joined as the first member (the group's occupancy flipped); already a member."""


class Appended(BaseModel):
    """A stored message, and how its fan-out goes: inline, or queued in `shards` slices."""

    model_config = ConfigDict(defer_build=True)

    envelope: Envelope
    recipients: int
    shards: int
    queued: bool


class Removal(BaseModel):
    """A connection just removed: who it was and the groups it left."""

    model_config = ConfigDict(defer_build=True)

    connection_id: str
    user_id: str
    groups: list[str]


class FanoutSlice(BaseModel):
    """One queued unit of fan-out work (one SQS message): a message for one shard."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    message_id: str = Field(min_length=1, max_length=64)
    group: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=1)
    shard: int = Field(ge=0)
    envelope: str = Field(min_length=2, description="the envelope JSON, as delivered")


class SliceProgress(BaseModel):
    """A slice's checkpoint: members up to `after` (a connection id, in key order) are done."""

    model_config = ConfigDict(defer_build=True)

    after: str | None = None
    done: bool = False


class MessageProgress(BaseModel):
    """A queued message's fan-out progress (GET /messages/{id})."""

    model_config = ConfigDict(defer_build=True, populate_by_name=True)

    id: str
    group: str
    seq: int
    status: str = Field(description="queued, done, or failed (could not be queued)")
    recipients: int = Field(
        description="members of the group when it was published (an estimate: members may come and go)"
    )
    delivered: int
    gone: int
    failed: int
    slices: int
    slices_done: int = Field(serialization_alias="slicesDone")
    done: bool


class Member(BaseModel):
    """A group member as the fan-out sees it."""

    model_config = ConfigDict(defer_build=True)

    connection_id: str
    live_after: int | None = None
    replaying: bool = False

    def receives(self, seq: int) -> bool:
        return not self.replaying and (self.live_after is None or seq > self.live_after)


class Presence(BaseModel):
    model_config = ConfigDict(defer_build=True)

    group: str
    connections: int
    users: int
    last_seq: int = Field(serialization_alias="lastSeq")
    epoch: str
    user_ids: list[str] | None = Field(default=None, serialization_alias="userIds")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class Counts(BaseModel):
    model_config = ConfigDict(defer_build=True)

    connections: int
    groups: dict[str, int]


class PublishResult(BaseModel):
    """The answer to every publish, once the fan-out is over."""

    model_config = ConfigDict(defer_build=True, populate_by_name=True)

    id: str
    type: str
    group: str | None = None
    user_id: str | None = Field(default=None, alias="userId")
    seq: int
    recipients: int = Field(description="members of the group when the fan-out started")
    delivered: int
    gone: int = Field(description="connections found closed (410) and removed")
    failed: int = Field(default=0, description="deliveries that still failed after every retry")

    @model_serializer(mode="wrap")
    def _omit_the_unused_target(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A publish targets a group or a user: the other key is left out, not sent as null.
        return {k: v for k, v in handler(self).items() if v is not None}


class QueuedPublish(BaseModel):
    """The answer to a publish whose fan-out was queued (HTTP 202): poll
    GET /messages/{id} for its progress."""

    model_config = ConfigDict(defer_build=True)

    id: str
    group: str
    seq: int
    status: Literal["queued"] = "queued"
    recipients: int = Field(description="members of the group when it was published (an estimate)")


class PublishOutcome(RootModel[PublishResult | QueuedPublish]):
    """Either answer of one publish, as one model (what an idempotency record stores)."""

    model_config = ConfigDict(defer_build=True)


class RefusedEvent(BaseModel):
    """An event of a batch that was not published, and why (a RealtimeError's code)."""

    model_config = ConfigDict(defer_build=True)

    code: str
    message: str
    errors: list[dict[str, Any]] | None = None


class BatchItem(BaseModel):
    """One event of a batch: published (inline or queued), or refused."""

    model_config = ConfigDict(defer_build=True)

    published: PublishResult | QueuedPublish | None = None
    refused: RefusedEvent | None = None


class BatchOutcome(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[BatchItem]


class PublishRequest(BaseModel):
    """One event to publish: to a group, or (with `userId`) to every connection of a user."""

    model_config = ConfigDict(defer_build=True, extra="forbid", populate_by_name=True)

    group: str | None = Field(default=None, min_length=1, max_length=64, examples=["alerts"])
    user_id: str | None = Field(default=None, alias="userId", min_length=1, max_length=256)
    type: str = Field(min_length=1, max_length=64, examples=["Alert"])
    data: dict[str, Any] = Field(examples=[{"title": "Disk", "message": "90% full", "severity": "warning"}])


class FanoutResult(BaseModel):
    model_config = ConfigDict(defer_build=True)

    recipients: int = 0
    delivered: int = 0
    gone_connection_ids: list[str] = Field(default_factory=list)
    failed: int = 0


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a Z suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
