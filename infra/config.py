"""The stack's configuration: CDK context (cdk.json or `-c key=value`), validated at synth.

Every key is optional; a bare `cdk synth` builds a complete stack with a new Cognito user
pool. docs/deploy.md documents each key. Values given with `-c` arrive as strings, so
numbers, booleans, JSON objects and comma-separated lists are all accepted as text too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator, model_validator

from realtime.config import (
    DEFAULT_FANOUT_WORKER_CONCURRENCY,
    DEFAULT_GROUP_ROLES,
    DEFAULT_SCOPE_ROLES,
    SCOPE_PATTERN,
    AuthSettings,
    HubSettings,
)

FunctionName = Literal[
    "authorizer",
    "connect",
    "disconnect",
    "fanout_worker",
    "ingest",
    "message",
    "rest_api",
    "rest_authorizer",
    "sweeper",
]
FUNCTION_NAMES: tuple[FunctionName, ...] = get_args(FunctionName)

# The values CloudWatch Logs accepts for a retention period.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)  # fmt: skip
# Powertools for AWS Lambda (Python) v3 public layer version for python3.13/arm64. Check
# the version it carries before raising it (docs/deploy.md says how).
DEFAULT_POWERTOOLS_LAYER_VERSION = 27

# Context keys the CDK itself (or the CLI) sets; everything else must be one of ours.
_CDK_OWNED_KEYS = {"acknowledged-issue-numbers", "cli-telemetry"}
_COGNITO_ROLES_CLAIM = "cognito:groups"
_DEFAULT_ROLES_CLAIM = "roles"

# The scopes the dashboard asks for: an OIDC sign-in (openid) with the user's e-mail and name.
DEFAULT_DASHBOARD_SCOPES = ("openid", "email", "profile")
# Words Cognito refuses in a domain prefix.
RESERVED_DOMAIN_WORDS = ("aws", "amazon", "cognito")

Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
# A service's name: part of its app client's name and of the stack's output keys.
SERVICE_NAME_PATTERN = r"^[A-Za-z0-9-]{1,40}$"
# What a service may ask for: the resource server's scopes (realtime/<scope>).
ServiceScope = Literal["publish", "read"]


def _hub_default(field: str) -> Any:
    """The default the functions' own settings model (HubSettings) applies: one source."""
    return HubSettings.model_fields[field].get_default(call_default_factory=True)


def _hub_auth_default(field: str) -> Any:
    return AuthSettings.default(field)


# HubSettings variable → the context key that sets it (StackConfig.hub_environment).
HUB_CONTEXT_KEYS: dict[str, str] = {
    "GROUP_ROLES": "groups",
    "AUTO_JOIN_GROUP": "autoJoinGroup",
    "CONNECT_ROLE": "connectRole",
    "PUBLISH_ROLE": "publishRole",
    "ADMIN_ROLE": "adminRole",
    "READER_ROLE": "readerRole",
    "PUBLISHER_ROLE": "publisherRole",
    "IAM_CALLER_ROLES": "iamCallerRoles",
    "TOKEN_EXPIRY_GRACE_SECONDS": "tokenExpiryGraceSeconds",
    "ACTION_RATE_PER_SECOND": "actionRatePerSecond",
    "ACTION_BURST": "actionBurst",
    "REPLAY_MESSAGES_PER_MINUTE": "replayMessagesPerMinute",
    "REPLAY_BYTES_PER_MINUTE": "replayBytesPerMinute",
    "FANOUT_CONCURRENCY": "fanoutConcurrency",
    "SEND_MAX_ATTEMPTS": "sendMaxAttempts",
    "HISTORY_TTL_SECONDS": "historyTtlSeconds",
    "HISTORY_MAX_MESSAGES": "historyMaxMessages",
    "REPLAY_MAX_MESSAGES": "replayMaxMessages",
    "FANOUT_QUEUE_THRESHOLD": "fanoutQueueThreshold",
    "MEMBER_SHARD_SIZE": "memberShardSize",
    "LIFECYCLE_SOURCE": "lifecycleSource",
}


class ContextError(ValueError):
    """The CDK context is invalid; the message lists every problem."""


class StackConfig(BaseModel):
    """Everything a deployment can choose. Field aliases are the context keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    stack_name: str = Field(default="RealtimeStack", alias="stackName", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
    stage_name: str = Field(default="prod", alias="stageName", pattern=r"^[A-Za-z0-9_]{1,64}$")

    # -- authentication: a new Cognito user pool, or an existing OIDC issuer ----------------
    create_user_pool: bool | None = Field(default=None, alias="createUserPool")
    jwks_url: HttpUrl | None = Field(default=None, alias="jwksUrl")
    issuer: str | None = Field(default=None, alias="issuer", min_length=1)
    audience: str | None = Field(default=None, alias="audience", min_length=1)
    roles_claim: str | None = Field(default=None, alias="rolesClaim", min_length=1)
    jwt_leeway_seconds: int = Field(default=30, alias="jwtLeewaySeconds", ge=0, le=300)

    # -- authorisation and groups (the functions' HubSettings) ------------------------------
    connect_role: Name = Field(default="admin", alias="connectRole")
    publish_role: Name = Field(default="admin", alias="publishRole")
    admin_role: Name = Field(default="admin", alias="adminRole")
    # The least-privilege roles services get from their scopes (domain/access.py), and the
    # roles of the IAM routes' callers.
    reader_role: Name = Field(default=_hub_default("reader_role"), alias="readerRole")
    publisher_role: Name = Field(default=_hub_default("publisher_role"), alias="publisherRole")
    iam_caller_roles: list[Name] = Field(
        default_factory=lambda: list(_hub_default("iam_caller_roles")), alias="iamCallerRoles", min_length=1
    )
    # Token expiry on open sockets and per-connection limits (HubSettings' defaults and bounds).
    token_expiry_grace_seconds: int = Field(
        default=_hub_default("token_expiry_grace_seconds"), alias="tokenExpiryGraceSeconds"
    )
    action_rate_per_second: float = Field(default=_hub_default("action_rate_per_second"), alias="actionRatePerSecond")
    action_burst: int = Field(default=_hub_default("action_burst"), alias="actionBurst")
    replay_messages_per_minute: int = Field(
        default=_hub_default("replay_messages_per_minute"), alias="replayMessagesPerMinute"
    )
    replay_bytes_per_minute: int = Field(default=_hub_default("replay_bytes_per_minute"), alias="replayBytesPerMinute")
    groups: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_GROUP_ROLES), alias="groups")
    auto_join_group: str = Field(default="admins", alias="autoJoinGroup")
    fanout_concurrency: int = Field(default=_hub_default("fanout_concurrency"), alias="fanoutConcurrency", ge=1, le=128)
    send_max_attempts: int = Field(default=5, alias="sendMaxAttempts", ge=1, le=10)
    # History and resume. Defaults and bounds are HubSettings' (checked below, at synth).
    history_ttl_seconds: int = Field(default=_hub_default("history_ttl_seconds"), alias="historyTtlSeconds")
    history_max_messages: int = Field(default=_hub_default("history_max_messages"), alias="historyMaxMessages")
    replay_max_messages: int = Field(default=_hub_default("replay_max_messages"), alias="replayMaxMessages")

    # -- queued fan-out (SQS FIFO + worker functions) ---------------------------------------
    # Groups with more members than this are fanned out by the workers (publish answers 202).
    fanout_queue_threshold: int = Field(default=_hub_default("fanout_queue_threshold"), alias="fanoutQueueThreshold")
    member_shard_size: int = Field(default=_hub_default("member_shard_size"), alias="memberShardSize")
    # The workers only fan out: more deliveries in flight than a publishing function
    # (their FANOUT_CONCURRENCY; HubSettings' bounds).
    fanout_worker_concurrency: int = Field(
        default=DEFAULT_FANOUT_WORKER_CONCURRENCY, alias="fanoutWorkerConcurrency", ge=1, le=128
    )
    # Most worker invocations the queue's event source mapping runs at once (Lambda's bounds).
    fanout_worker_max_concurrency: int = Field(default=50, alias="fanoutWorkerMaxConcurrency", ge=2, le=1000)
    fanout_queue_age_alarm_seconds: int = Field(default=60, alias="fanoutQueueAgeAlarmSeconds", ge=1)

    # -- EventBridge: ingestion and lifecycle events ---------------------------------------
    # An existing bus (its name, in this account and region); unset: the stack creates one.
    event_bus_name: str | None = Field(default=None, alias="eventBusName", pattern=r"^[A-Za-z0-9._/-]{1,256}$")
    lifecycle_source: str = Field(default=_hub_default("lifecycle_source"), alias="lifecycleSource")
    # Keep the ingested events this many days for replay (an EventBridge archive); unset: none.
    event_archive_days: int | None = Field(default=None, alias="eventArchiveDays", ge=1, le=3650)

    # -- services: machine-to-machine access (docs/deploy.md, "Connect a service") -----------
    # One Cognito app client per service, with a secret and the client-credentials grant, and
    # the scopes it may ask for: {"billing": ["publish"], "ops-bot": ["publish", "read"]}
    # (realtime/publish → the publisher role, realtime/read → the reader role).
    services: dict[Annotated[str, Field(pattern=SERVICE_NAME_PATTERN)], list[ServiceScope]] = Field(
        default_factory=dict, alias="services", max_length=50
    )
    # An external issuer's client-credentials tokens: the claim with their scopes, and the
    # roles each scope grants (default: realtime/publish → publisher, realtime/read → reader).
    scopes_claim: str | None = Field(default=None, alias="scopesClaim", min_length=1)
    scope_roles: dict[Annotated[str, Field(pattern=SCOPE_PATTERN)], list[Name]] | None = Field(
        default=None, alias="scopeRoles", max_length=100
    )

    # -- the APIs --------------------------------------------------------------------------
    cors_origins: list[HttpUrl] = Field(default_factory=list, alias="corsOrigins")
    websocket_throttle_rate: float = Field(default=500, alias="websocketThrottleRate", gt=0)
    websocket_throttle_burst: int = Field(default=1000, alias="websocketThrottleBurst", ge=0)
    rest_throttle_rate: float = Field(default=100, alias="restThrottleRate", gt=0)
    rest_throttle_burst: int = Field(default=200, alias="restThrottleBurst", ge=0)
    web_acl_arn: str | None = Field(default=None, alias="webAclArn", pattern=r"^arn:aws[a-z-]*:wafv2:")
    # API Gateway logs to CloudWatch through one role per account and region. Set false
    # when something else (another stack, a landing zone) already configures it.
    api_gateway_cloudwatch_role: bool = Field(default=True, alias="apiGatewayCloudWatchRole")

    # -- the dashboard (clients/dashboard on S3 + CloudFront, signed in with the code flow) -----
    dashboard: bool = Field(default=True, alias="dashboard")
    # The built app (an index.html and its assets/): a path relative to the repository or
    # absolute; unset: clients/dashboard/dist, which `make dashboard` builds.
    dashboard_dist: str | None = Field(default=None, alias="dashboardDist", min_length=1)
    # A WAFv2 web ACL of scope CLOUDFRONT (those live in us-east-1) for the distribution.
    dashboard_web_acl_arn: str | None = Field(
        default=None, alias="dashboardWebAclArn", pattern=r"^arn:aws[a-z-]*:wafv2:us-east-1:\d{12}:global/webacl/"
    )
    # The user pool's sign-in domain, <prefix>.auth.<region>.amazoncognito.com (unique per
    # region across AWS); unset: <stack name>-<the stack's id>.
    cognito_domain_prefix: str | None = Field(
        default=None, alias="cognitoDomainPrefix", pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
    )
    # With an external OIDC issuer: the dashboard's (public, PKCE) client there and its endpoints.
    oidc_client_id: str | None = Field(default=None, alias="oidcClientId", min_length=1)
    oidc_authorize_url: HttpUrl | None = Field(default=None, alias="oidcAuthorizeUrl")
    oidc_token_url: HttpUrl | None = Field(default=None, alias="oidcTokenUrl")
    oidc_logout_url: HttpUrl | None = Field(default=None, alias="oidcLogoutUrl")
    oidc_scopes: list[str] | None = Field(default=None, alias="oidcScopes")

    # -- functions -------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", alias="logLevel")
    metrics_namespace: str = Field(default="RealtimeHub", alias="metricsNamespace", pattern=r"^[A-Za-z0-9_./#:-]+$")
    powertools_layer_version: int = Field(
        default=DEFAULT_POWERTOOLS_LAYER_VERSION, alias="powertoolsLayerVersion", ge=1
    )
    reserved_concurrency: dict[FunctionName, int] = Field(default_factory=dict, alias="reservedConcurrency")
    # Lambda SnapStart for these functions (docs/architecture.md, "SnapStart"): each is then
    # invoked through its alias `live` on the version published with every deploy.
    snap_start: frozenset[FunctionName] = Field(default=frozenset(), alias="snapStart")
    # How often the sweeper removes connections whose $disconnect never came. Its index
    # items live a day past the connection's expiry, so it must run well within a day.
    sweep_minutes: int = Field(default=5, alias="sweepMinutes", ge=1, le=60)

    # -- operations ------------------------------------------------------------------------
    log_retention_days: int = Field(default=30, alias="logRetentionDays")
    removal_policy: Literal["retain", "destroy"] = Field(default="retain", alias="removalPolicy")
    alarm_email: str | None = Field(default=None, alias="alarmEmail", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    connect_rejections_alarm_threshold: int = Field(default=50, alias="connectRejectionsAlarmThreshold", ge=1)

    # -- parsing of `-c key=value` strings -------------------------------------------------

    @field_validator("iam_caller_roles", mode="before")
    @classmethod
    def _roles_list(cls, value: Any) -> Any:
        return re.split(r"[,\s]+", value.strip()) if isinstance(value, str) else value

    @field_validator("groups", "reserved_concurrency", "services", "scope_roles", mode="before")
    @classmethod
    def _json_object(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("groups")
    @classmethod
    def _role_names(cls, value: dict[str, str]) -> dict[str, str]:
        for group, role in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", role):
                raise ValueError(f"group {group!r}: role {role!r} must be 1-64 letters, digits, '-' or '_'")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _list_of_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [o for o in re.split(r"[,\s]+", text) if o]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins_only(cls, value: list[HttpUrl]) -> list[HttpUrl]:
        for origin in value:
            if origin.path not in (None, "", "/") or origin.query or origin.fragment:
                raise ValueError(f"{origin} is not an origin: use scheme://host[:port] only")
        return value

    @field_validator("snap_start", mode="before")
    @classmethod
    def _function_names(cls, value: Any) -> Any:
        """A JSON list or comma-separated names; `all` for every function, `none` for none."""
        if isinstance(value, str):
            text = value.strip()
            if text.lower() in ("all", "none", ""):
                return FUNCTION_NAMES if text.lower() == "all" else []
            return json.loads(text) if text.startswith("[") else [n for n in re.split(r"[,\s]+", text) if n]
        return value

    @field_validator("oidc_scopes", mode="before")
    @classmethod
    def _list_of_scopes(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [s for s in re.split(r"[,\s]+", text) if s]
        return value

    @field_validator("oidc_scopes")
    @classmethod
    def _scopes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            if "openid" not in value:
                raise ValueError("the scopes must include openid")
            for scope in value:
                if not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", scope):  # RFC 6749's scope-token
                    raise ValueError(f"{scope!r} is not a scope")
        return value

    @field_validator("cognito_domain_prefix")
    @classmethod
    def _cognito_allows_the_prefix(cls, value: str | None) -> str | None:
        if value is not None and (reserved := [word for word in RESERVED_DOMAIN_WORDS if word in value]):
            raise ValueError(f"Cognito refuses domain prefixes containing {reserved[0]!r}")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _supported_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"CloudWatch Logs supports {', '.join(map(str, LOG_RETENTION_DAYS))} days")
        return value

    @field_validator("reserved_concurrency")
    @classmethod
    def _positive_concurrency(cls, value: dict[FunctionName, int]) -> dict[FunctionName, int]:
        for name, limit in value.items():
            if limit < 1:
                raise ValueError(f"reserved concurrency of {name} must be at least 1 (0 would disable it)")
        return value

    @field_validator("lifecycle_source")
    @classmethod
    def _not_an_aws_source(cls, value: str) -> str:
        if value.startswith("aws."):
            raise ValueError("sources starting with 'aws.' are reserved for AWS services (PutEvents refuses them)")
        return value

    @model_validator(mode="after")
    def _services_need_the_user_pool(self) -> Self:
        if self.services and not self.uses_cognito:
            raise ValueError(
                "services are Cognito app clients: with an external issuer, create the services' clients "
                "there and set scopesClaim/scopeRoles"
            )
        for name, scopes in self.services.items():
            if not scopes:
                raise ValueError(f"service {name!r} needs at least one scope (publish, read)")
        output_keys = {name.replace("-", "").lower() for name in self.services}
        if len(output_keys) < len(self.services):  # the stack outputs ServiceClientId<name without dashes>
            raise ValueError("service names must differ in more than dashes and case")
        return self

    @model_validator(mode="after")
    def _one_identity_provider(self) -> Self:
        external = {"jwksUrl": self.jwks_url, "issuer": self.issuer, "audience": self.audience}
        given = [key for key, value in external.items() if value is not None]
        if self.create_user_pool and given:
            raise ValueError(f"createUserPool=true creates the issuer: do not also set {', '.join(given)}")
        if self.create_user_pool is False and len(given) < len(external):
            missing = [key for key in external if key not in given]
            raise ValueError(f"an external OIDC issuer needs jwksUrl, issuer and audience; missing {missing}")
        if self.create_user_pool is None and 0 < len(given) < len(external):
            missing = [key for key in external if key not in given]
            raise ValueError(
                f"set all of jwksUrl, issuer and audience (missing {missing}), or none to create a user pool"
            )
        if self.jwks_url is not None and self.jwks_url.scheme != "https":
            raise ValueError("jwksUrl must use https")
        return self

    @model_validator(mode="after")
    def _dashboard_sign_in(self) -> Self:
        dashboard_keys = {
            "dashboardDist": self.dashboard_dist,
            "dashboardWebAclArn": self.dashboard_web_acl_arn,
            "cognitoDomainPrefix": self.cognito_domain_prefix,
        }
        oidc = {
            "oidcClientId": self.oidc_client_id,
            "oidcAuthorizeUrl": self.oidc_authorize_url,
            "oidcTokenUrl": self.oidc_token_url,
            "oidcLogoutUrl": self.oidc_logout_url,
        }
        given = [key for key, value in {**dashboard_keys, **oidc}.items() if value is not None]
        if self.oidc_scopes is not None:
            given.append("oidcScopes")
        if not self.dashboard:
            if given:
                raise ValueError(f"dashboard=false deploys no dashboard: do not also set {', '.join(given)}")
            return self
        if self.uses_cognito:
            external = [key for key in given if key.startswith("oidc")]
            if external:
                raise ValueError(
                    f"the dashboard signs in with the stack's user pool: {', '.join(external)} are for an "
                    "external OIDC issuer"
                )
            return self
        if self.cognito_domain_prefix is not None:
            raise ValueError("cognitoDomainPrefix names the stack's user pool domain: there is none with jwksUrl")
        missing = [key for key, value in oidc.items() if value is None]
        if missing:
            raise ValueError(
                f"the dashboard signs in with the external OIDC issuer: set {', '.join(missing)} "
                "(its public client and endpoints), or dashboard=false"
            )
        for key, url in oidc.items():
            if isinstance(url, HttpUrl) and url.scheme != "https":
                raise ValueError(f"{key} must use https")
        return self

    @model_validator(mode="after")
    def _hub_settings_are_valid(self) -> Self:
        # The same model the functions validate at cold start: a bad group configuration
        # or history setting fails here, at synth, instead of at the first invocation
        # after the deploy.
        try:
            HubSettings.model_validate(
                {
                    "TABLE_NAME": "synth-time-check",
                    "WEBSOCKET_CALLBACK_URL": "https://example.execute-api.us-east-1.amazonaws.com/prod",
                    **self.hub_environment(),
                }
            )
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                variable = str(error["loc"][0]) if error["loc"] else ""
                where = HUB_CONTEXT_KEYS.get(variable, "groups/autoJoinGroup")
                problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}")
            raise ValueError("; ".join(problems)) from None
        return self

    # -- derived values --------------------------------------------------------------------

    @property
    def uses_cognito(self) -> bool:
        return self.create_user_pool is not False and self.jwks_url is None

    @property
    def effective_scopes_claim(self) -> str:
        return self.scopes_claim or _hub_auth_default("scopes_claim")

    @property
    def effective_scope_roles(self) -> dict[str, list[str]]:
        return self.scope_roles if self.scope_roles is not None else dict(DEFAULT_SCOPE_ROLES)

    @property
    def effective_roles_claim(self) -> str:
        if self.roles_claim:
            return self.roles_claim
        return _COGNITO_ROLES_CLAIM if self.uses_cognito else _DEFAULT_ROLES_CLAIM

    @property
    def cors_allow_origins(self) -> list[str]:
        return [str(origin).rstrip("/") for origin in self.cors_origins]

    @property
    def dashboard_scopes(self) -> list[str]:
        """What the dashboard asks for (Cognito's app client allows exactly the default)."""
        return list(self.oidc_scopes or DEFAULT_DASHBOARD_SCOPES)

    @property
    def retain_data(self) -> bool:
        return self.removal_policy == "retain"

    @property
    def roles(self) -> list[str]:
        """Every role the hub checks, in a stable order (the Cognito groups to create)."""
        roles = {self.connect_role, self.publish_role, self.admin_role, self.reader_role, self.publisher_role}
        return sorted(roles | set(self.groups.values()))

    def hub_environment(self) -> dict[str, str]:
        """HubSettings variables that come from configuration (not from other resources),
        keyed like HUB_CONTEXT_KEYS."""
        return {
            "GROUP_ROLES": json.dumps(self.groups, separators=(",", ":"), sort_keys=True),
            "AUTO_JOIN_GROUP": self.auto_join_group,
            "CONNECT_ROLE": self.connect_role,
            "PUBLISH_ROLE": self.publish_role,
            "ADMIN_ROLE": self.admin_role,
            "READER_ROLE": self.reader_role,
            "PUBLISHER_ROLE": self.publisher_role,
            "IAM_CALLER_ROLES": " ".join(self.iam_caller_roles),
            "TOKEN_EXPIRY_GRACE_SECONDS": str(self.token_expiry_grace_seconds),
            "ACTION_RATE_PER_SECOND": str(self.action_rate_per_second),
            "ACTION_BURST": str(self.action_burst),
            "REPLAY_MESSAGES_PER_MINUTE": str(self.replay_messages_per_minute),
            "REPLAY_BYTES_PER_MINUTE": str(self.replay_bytes_per_minute),
            "FANOUT_CONCURRENCY": str(self.fanout_concurrency),
            "SEND_MAX_ATTEMPTS": str(self.send_max_attempts),
            "HISTORY_TTL_SECONDS": str(self.history_ttl_seconds),
            "HISTORY_MAX_MESSAGES": str(self.history_max_messages),
            "REPLAY_MAX_MESSAGES": str(self.replay_max_messages),
            "FANOUT_QUEUE_THRESHOLD": str(self.fanout_queue_threshold),
            "MEMBER_SHARD_SIZE": str(self.member_shard_size),
            "LIFECYCLE_SOURCE": self.lifecycle_source,
        }

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> Self:
        """Validate our keys of the CDK context; raise ContextError listing every problem."""
        ours = {
            key: value
            for key, value in context.items()
            if ":" not in key and not key.startswith("@") and key not in _CDK_OWNED_KEYS
        }
        try:
            return cls.model_validate(ours)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"]) or "context"
                problems.append(f"  - {where}: {error['msg']}")
            raise ContextError("invalid CDK context (cdk.json or -c):\n" + "\n".join(problems)) from None
