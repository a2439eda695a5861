"""Environment configuration, validated once at cold start.

Each function reads only the settings it needs (`AuthSettings`, `HubSettings`), so a
function that does not verify tokens never requires the auth variables.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

# Token verification's settings and the role names are pydantic-free, for the authorizers'
# cold start (docs/architecture.md, "Cold start"); re-exported here with the other settings.
from realtime.auth_config import AuthSettings
from realtime.auth_config import SettingsError as SettingsError
from realtime.auth_config import auth_settings as auth_settings
from realtime.roles import DEFAULT_SCOPE_ROLES as DEFAULT_SCOPE_ROLES
from realtime.roles import PUBLISHER_ROLE, READER_ROLE, ROLE_NAME_PATTERN
from realtime.roles import SCOPE_PATTERN as SCOPE_PATTERN
from realtime.roles import valid_role_name as valid_role_name

DEFAULT_GROUP_ROLES: dict[str, str] = {
    "admins": "admin",
    "user-activity": "admin",
    "analytics": "admin",
    "alerts": "admin",
}

RoleName = Annotated[str, Field(pattern=ROLE_NAME_PATTERN)]


# The fan-out workers' FANOUT_CONCURRENCY by default (infra: fanoutWorkerConcurrency): they
# do nothing but deliver, so they keep more sends in flight than a publishing function.
DEFAULT_FANOUT_WORKER_CONCURRENCY = 64

# API Gateway's WebSocket message limit; the envelope we deliver must fit in it.
MAX_MESSAGE_BYTES = 128 * 1024
# DynamoDB transactions hold 100 items; removing a connection touches 4 per group + 4.
MAX_GROUPS = 24
# API Gateway closes every WebSocket after 2 hours; connection data lives a little longer.
DEFAULT_CONNECTION_TTL_SECONDS = 2 * 3600 + 300


class _EnvModel(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="ignore", populate_by_name=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        # Empty variables count as unset, so a template can leave optional ones blank.
        return cls.model_validate({k: v for k, v in env.items() if v != ""})


class HubSettings(_EnvModel):
    """What every function that touches connections, groups or delivery needs."""

    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    # Base URL of the @connections Management API: https://{api}.execute-api.{region}.amazonaws.com/{stage}
    callback_url: AnyHttpUrl = Field(alias="WEBSOCKET_CALLBACK_URL")
    group_roles: dict[str, RoleName] = Field(default_factory=lambda: dict(DEFAULT_GROUP_ROLES), alias="GROUP_ROLES")
    auto_join_group: str = Field(default="admins", alias="AUTO_JOIN_GROUP")
    # Checked by the authorizer, and again on $connect (defence in depth).
    connect_role: RoleName = Field(default="admin", alias="CONNECT_ROLE")
    publish_role: RoleName = Field(default="admin", alias="PUBLISH_ROLE")
    # Least-privilege roles (domain/access.py): a reader may connect and read every group, a
    # publisher may publish and follow its messages; services get them from their scopes.
    reader_role: RoleName = Field(default=READER_ROLE, alias="READER_ROLE")
    publisher_role: RoleName = Field(default=PUBLISHER_ROLE, alias="PUBLISHER_ROLE")
    # What a SigV4-signed caller of the IAM routes is: IAM authorized the call, these roles
    # say what it may do there (publish, by default).
    iam_caller_roles: list[RoleName] = Field(
        default_factory=lambda: [PUBLISHER_ROLE], alias="IAM_CALLER_ROLES", min_length=1, max_length=10
    )
    # May close any connection (DELETE /connections/{id}, DELETE /users/{userId}/connections).
    admin_role: RoleName = Field(default="admin", alias="ADMIN_ROLE")
    # A connection's token expiring: after exp + this grace, actions are refused (the client
    # should have sent `refresh`) and the connection is closed; the sweeper closes idle ones.
    token_expiry_grace_seconds: int = Field(default=30, alias="TOKEN_EXPIRY_GRACE_SECONDS", ge=0, le=3600)
    # Per-connection limits (docs/protocol.md, "Rate limits"). Actions: a token bucket in
    # each execution environment's memory (no database write per frame). Replays: counted in
    # the connection's item, so they hold across environments.
    action_rate_per_second: float = Field(default=10.0, alias="ACTION_RATE_PER_SECOND", gt=0, le=10_000)
    action_burst: int = Field(default=50, alias="ACTION_BURST", ge=1, le=100_000)
    replay_messages_per_minute: int = Field(default=5000, alias="REPLAY_MESSAGES_PER_MINUTE", ge=0, le=1_000_000)
    replay_bytes_per_minute: int = Field(
        default=8 * 1024 * 1024, alias="REPLAY_BYTES_PER_MINUTE", ge=0, le=1024 * 1024 * 1024
    )
    # Parallel sends of an inline fan-out: 64, measured (docs/architecture.md, "Inline fan-out
    # concurrency"): at 20 ms a send, 100 members take 2 rounds instead of 7 at 16.
    fanout_concurrency: int = Field(default=64, alias="FANOUT_CONCURRENCY", ge=1, le=128)
    # DynamoDB answers in milliseconds: 5 s means it is in trouble, and botocore retries.
    # The local stack raises it: moto serves one request at a time, so under load a call
    # waits in moto's queue, and a retry after a timeout only queues the same work again.
    dynamodb_read_timeout_seconds: float = Field(default=5.0, alias="DYNAMODB_READ_TIMEOUT_SECONDS", gt=0, le=60)
    send_max_attempts: int = Field(default=5, alias="SEND_MAX_ATTEMPTS", ge=1, le=10)
    connection_ttl_seconds: int = Field(default=DEFAULT_CONNECTION_TTL_SECONDS, alias="CONNECTION_TTL_SECONDS", ge=60)
    history_ttl_seconds: int = Field(default=3600, alias="HISTORY_TTL_SECONDS", ge=60, le=7 * 86400)
    history_max_messages: int = Field(default=1000, alias="HISTORY_MAX_MESSAGES", ge=1, le=100_000)
    replay_max_messages: int = Field(default=1000, alias="REPLAY_MAX_MESSAGES", ge=0, le=10_000)
    # A replay must finish well inside API Gateway's 29 s integration timeout.
    replay_budget_seconds: float = Field(default=20.0, alias="REPLAY_BUDGET_SECONDS", gt=0, le=25)

    # Groups larger than this are fanned out asynchronously by the worker Lambdas fed
    # from the fan-out queue (202 queued); smaller ones inline, inside the publish call.
    fanout_queue_url: AnyHttpUrl | None = Field(default=None, alias="FANOUT_QUEUE_URL")
    fanout_queue_threshold: int = Field(default=500, alias="FANOUT_QUEUE_THRESHOLD", ge=1)
    # Members per membership shard: a group's members spread over ceil(peak / size) shards,
    # each its own DynamoDB partition and one slice of the asynchronous fan-out.
    member_shard_size: int = Field(default=1000, alias="MEMBER_SHARD_SIZE", ge=1, le=100_000)
    # Lifecycle events (connection opened/closed, group occupied/vacated) go to this bus;
    # unset: none are emitted.
    event_bus_name: str | None = Field(default=None, alias="EVENT_BUS_NAME", min_length=1, max_length=256)
    lifecycle_source: str = Field(default="realtime.hub", alias="LIFECYCLE_SOURCE", min_length=1, max_length=256)

    @field_validator("group_roles", mode="before")
    @classmethod
    def _parse_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("iam_caller_roles", mode="before")
    @classmethod
    def _split_roles(cls, value: Any) -> Any:
        return value.split() if isinstance(value, str) else value

    @field_validator("group_roles")
    @classmethod
    def _valid_group_names(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("at least one group is required")
        if len(value) > MAX_GROUPS:
            raise ValueError(f"at most {MAX_GROUPS} groups (a disconnect leaves all of them in one transaction)")
        for name in value:
            if not name or len(name) > 64 or not all(c.isalnum() or c in "-_." for c in name):
                raise ValueError(f"invalid group name {name!r}: use 1-64 letters, digits, '-', '_' or '.'")
        return value

    @model_validator(mode="after")
    def _auto_join_is_configured(self) -> Self:
        if self.auto_join_group not in self.group_roles:
            raise ValueError(f"AUTO_JOIN_GROUP {self.auto_join_group!r} is not in GROUP_ROLES")
        return self


class RestSettings(_EnvModel):
    """Browser origins allowed to call the REST API (CORS); none by default."""

    cors_allow_origins: list[str] = Field(default_factory=list, alias="CORS_ALLOW_ORIGINS")

    @field_validator("cors_allow_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


class IngestSettings(_EnvModel):
    """The EventBridge ingestion function: events it cannot publish go to this queue."""

    dead_letter_queue_url: AnyHttpUrl = Field(alias="INGEST_DEAD_LETTER_QUEUE_URL")
    # The detail-type the ingestion rule matches (documented in docs/protocol.md).
    detail_type: str = Field(default="Realtime Publish", alias="INGEST_DETAIL_TYPE", min_length=1)


Settings = type[BaseModel] | type[AuthSettings]


def settings_variables(model: Settings, *, required_only: bool = False) -> dict[str, str]:
    """A settings class's fields → their environment variables (pydantic or not)."""
    if isinstance(model, type) and issubclass(model, AuthSettings):
        return model.variables(required_only=required_only)
    return {
        name: field.alias
        for name, field in model.model_fields.items()
        if field.alias is not None and (field.is_required() or not required_only)
    }


def setting_default(model: Settings, name: str) -> Any:
    """The default a settings class applies to one field: one source for the stack's."""
    if isinstance(model, type) and issubclass(model, AuthSettings):
        return model.default(name)
    return model.model_fields[name].get_default(call_default_factory=True)
