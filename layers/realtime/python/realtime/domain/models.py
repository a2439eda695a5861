"""Value objects shared by the domain services and their ports."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Identity(BaseModel):
    """Who is calling: the token's `sub` and roles."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    roles: frozenset[str] = frozenset()

    def has_role(self, role: str) -> bool:
        return role in self.roles


class Connection(BaseModel):
    model_config = ConfigDict(frozen=True)

    connection_id: str
    user_id: str
    roles: frozenset[str]
    connected_at: datetime
    expires_at: datetime

    @property
    def identity(self) -> Identity:
        return Identity(user_id=self.user_id, roles=self.roles)


class Envelope(BaseModel):
    """What every subscriber receives. `seq` is per group: 1, 2, 3… with no gaps."""

    model_config = ConfigDict(frozen=True)

    type: str
    group: str
    id: str
    seq: int = Field(ge=1)
    ts: str
    data: dict[str, Any]

    def to_json(self) -> str:
        return self.model_dump_json()


class Counts(BaseModel):
    connections: int
    groups: dict[str, int]


class PublishResult(BaseModel):
    """The answer to every publish, once the fan-out is over."""

    id: str
    type: str
    group: str
    seq: int
    recipients: int = Field(description="members of the group when the fan-out started")
    delivered: int
    gone: int = Field(description="connections found closed (410) and removed")
    failed: int = Field(default=0, description="deliveries that still failed after every retry")


class FanoutResult(BaseModel):
    recipients: int = 0
    delivered: int = 0
    gone_connection_ids: list[str] = Field(default_factory=list)
    failed: int = 0


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a Z suffix."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
