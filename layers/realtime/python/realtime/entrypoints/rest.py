"""The REST API for backend services: Powertools' resolver with pydantic validation and
a generated OpenAPI document, which is the contract: every status a route can answer is
declared with its body (tests/e2e/test_openapi_fuzz.py holds the code to it).

Before the resolver runs, `handle` authenticates (an anonymous caller learns nothing from
validation errors), answers unknown routes (404) and wrong methods (405), and checks the
body: at most 128 KB, JSON (415 otherwise), UTF-8, within the payload limits (422). Roles
are checked per route by the hub (realtime.domain.access), the same rule as on the
WebSocket."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, Self, Union, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, create_model, model_validator

from realtime import bootstrap, payload
from realtime.auth import SUBJECT_PATTERN, bearer_token
from realtime.config import MAX_MESSAGE_BYTES, RestSettings
from realtime.domain import event_types as ev
from realtime.domain.models import BatchOutcome, Identity, PublishRequest, PublishResult, QueuedPublish, iso_utc
from realtime.domain.publishing import Face
from realtime.entrypoints.statuses import http_status, status_of
from realtime.errors import (
    Forbidden,
    MethodNotAllowed,
    NoSuchRoute,
    PayloadTooLarge,
    RateLimited,
    RealtimeError,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    bounded_details,
)
from realtime.observability import logger
from realtime.protocol import ErrorCode, FieldError, GroupPresence, PlatformSnapshot

BASE_PATH = "/api/admin/realtime"
PUBLIC_PATHS = {f"{BASE_PATH}/health", f"{BASE_PATH}/status", f"{BASE_PATH}/openapi.json"}
# The same routes for services inside AWS that sign with SigV4 instead of sending a token:
# API Gateway authorizes them with IAM (AWS_IAM) and names the caller (infra/rest_api.py).
IAM_PREFIX = "/iam"
IAM_BASE_PATH = f"{IAM_PREFIX}{BASE_PATH}"
API_TITLE = "Realtime admin hub"
API_VERSION = "1.0.0"
MAX_IDEMPOTENCY_KEY_LENGTH = 256
_BODY_METHODS = {"POST", "PUT", "PATCH"}

# API Gateways own answers (given without the function) in the same error shape as the
# functions: infra/rest_api.py configures them as gateway responses, the local emulator
# answers with them. Response type → (status, code); None keeps API Gateways status.
GATEWAY_RESPONSES: dict[str, tuple[int | None, str]] = {
    "UNAUTHORIZED": (401, "Unauthorized"),
    "EXPIRED_TOKEN": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "Forbidden"),  # also: IAM routes, a principal without execute-api:Invoke
    "INVALID_SIGNATURE": (403, "Forbidden"),  # IAM routes: a SigV4 signature that does not match
    "MISSING_AUTHENTICATION_TOKEN": (404, "NotFound"),  # no such resource or method
    "REQUEST_TOO_LARGE": (413, "PayloadTooLarge"),
    "THROTTLED": (429, "RateLimited"),
    "QUOTA_EXCEEDED": (429, "RateLimited"),
    "INTEGRATION_TIMEOUT": (504, "ServiceUnavailable"),
    "DEFAULT_4XX": (None, "BadRequest"),
    "DEFAULT_5XX": (None, "InternalError"),
}


def gateway_response_template(code: str) -> str:
    """The mapping template of a gateway response: {"code": …, "message": <API Gateway's>}."""
    return '{"code":"' + code + '","message":$context.error.messageString}'


# Group names and message ids in paths: what the configuration and uuid4 can produce.
GROUP_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
MESSAGE_ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
CONNECTION_ID_PATTERN = r"^[A-Za-z0-9=_+/-]{1,128}$"
_SUBJECT = re.compile(SUBJECT_PATTERN)


def _cors() -> CORSConfig | None:
    origins = RestSettings.from_env().cors_allow_origins
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        max_age=600,
    )


CORS = _cors()
app = APIGatewayRestResolver(enable_validation=True, cors=CORS)
router = APIGatewayRouter()


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    identity: Identity | None = None
    try:
        path, method = event.get("path") or "", str(event.get("httpMethod") or "").upper()
        face: Face = "rest"
        if path.startswith(f"{IAM_BASE_PATH}/"):
            identity, face = _iam_caller(event), "iam"
            path = path.removeprefix(IAM_PREFIX)  # then routed like any other
            event = {**event, "path": path}
        elif path not in PUBLIC_PATHS:
            identity = bootstrap.verifier().verify(bearer_token(_header(event, "authorization")))
        _require_method(path, method)
        if identity is not None:
            app.append_context(identity=identity, face=face)
            _require_role_of(method, identity)
        if method in _BODY_METHODS:
            _check_body(event)
    except RealtimeError as exc:
        response = _error_response(exc)
        origin = _header(event, "origin")
        if CORS is not None and origin:  # the resolver adds these itself; early answers need them too
            response["headers"].update(CORS.to_dict(origin))
        return response
    response = app.resolve(event, context)
    if identity is not None and method in ("POST", "DELETE"):  # writes: who did what
        caller = {"caller": identity.user_id, "method": method, "path": path}
        logger.info("write", extra={**caller, "status": response.get("statusCode")})
    return response


def _iam_caller(event: dict[str, Any]) -> Identity:
    """The caller of an IAM route. API Gateway verified its SigV4 signature and its IAM
    permission (execute-api:Invoke on this method and path) before invoking the function,
    and names the principal in requestContext.identity, which no request can set. The
    principal's ARN is the caller in the write log lines and idempotency scopes; what it
    may do is IAM_CALLER_ROLES (publish, by default)."""
    caller = ((event.get("requestContext") or {}).get("identity") or {}).get("userArn")
    if not isinstance(caller, str) or not caller:  # a route without AWS_IAM: refuse, never guess
        raise Unauthorized("the IAM routes take SigV4-signed requests only")
    if not _SUBJECT.fullmatch(caller):
        raise Forbidden(
            "this IAM principal cannot be a caller: its ARN must be 1-256 characters of letters, digits and "
            ". _ : @ + = / ~ | - (a role session name with a comma is not)"
        )
    return Identity(user_id=caller, roles=frozenset(bootstrap.hub().settings.iam_caller_roles))


def _require_method(path: str, method: str) -> None:
    """404 for a path no route has; 405 (with Allow) for a method the path's routes lack.
    OPTIONS is left to the resolver (CORS preflight)."""
    allowed = _methods_of(path)
    if not allowed:
        raise NoSuchRoute()
    if method not in allowed and method != "OPTIONS":
        raise _MethodNotAllowed(allowed)


def _require_role_of(method: str, identity: Identity) -> None:
    """Writes are checked before the body is read, so a caller without the role learns
    nothing from validation errors: every POST publishes, every DELETE closes connections.
    Reads depend on the group and are checked by the hub."""
    access = bootstrap.hub().access
    if method == "POST":
        access.require_publish(identity)
    elif method == "DELETE":
        access.require_admin(identity)


class _MethodNotAllowed(MethodNotAllowed):
    def __init__(self, allowed: list[str]) -> None:
        super().__init__(f"allowed: {', '.join(allowed)}")
        self.allowed = allowed


def _methods_of(path: str) -> list[str]:
    # Powertools keeps its routes in these lists (pinned version; tests/integration cover it).
    routes = app._static_routes + app._dynamic_routes
    return sorted({route.method for route in routes if route.rule.match(path)})


def _check_body(event: dict[str, Any]) -> None:
    """At most 128 KB, JSON, UTF-8, within the payload limits — before any model sees it."""
    raw = event.get("body") or ""
    try:
        body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode()
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise ValidationFailed("the body is not valid base64") from None
    if len(body) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"the request body exceeds {MAX_MESSAGE_BYTES} bytes")
    media_type = (_header(event, "content-type") or "application/json").split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType("send the body as JSON: Content-Type: application/json")
    parsed = payload.loads(body or b"null", loc=["body"], max_depth=payload.MAX_DEPTH + 4)
    if event.get("isBase64Encoded"):  # the resolver reads it as text
        event["body"], event["isBase64Encoded"] = json.dumps(parsed), False


def _face() -> Face:
    """Each face has its own idempotency key space: an IAM principal's and a token's
    subject could be the same text."""
    return "iam" if app.context.get("face") == "iam" else "rest"


def _identity() -> Identity:
    identity = app.context.get("identity")
    if not isinstance(identity, Identity):  # every non-public route is authenticated in handle()
        raise Unauthorized("a bearer token is required")
    return identity


# -- request and response models ------------------------------------------------------


class ErrorBody(BaseModel):
    """Every error answer: from the function, and from API Gateway itself (its gateway
    responses use the same shape)."""

    model_config = ConfigDict(defer_build=True)

    code: ErrorCode
    message: str
    errors: list[FieldError] | None = Field(default=None, description="the offending fields (at most 20)")


class HealthResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    status: Literal["healthy"] = Field(examples=["healthy"])


class StatusResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    status: Literal["ok"] = Field(examples=["ok"])
    connections: int


class MeResponse(BaseModel):
    model_config = ConfigDict(defer_build=True, populate_by_name=True, serialize_by_alias=True)

    user_id: str = Field(alias="userId")
    roles: list[str]
    expires_at: str = Field(alias="expiresAt", description="the token's expiry, ISO-8601 UTC")
    can_connect: bool = Field(alias="canConnect", description="may open a WebSocket")
    can_publish: bool = Field(alias="canPublish")
    groups: list[str] = Field(description="the groups this token may read (subscribe, history, presence)")


class _OneEvent(BaseModel):
    """One event, to a group or (with `userId`) to every open connection of a user."""

    model_config = ConfigDict(
        defer_build=True,
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={"oneOf": [{"required": ["group"]}, {"required": ["userId"]}]},
    )

    group: str | None = Field(default=None, pattern=GROUP_PATTERN, examples=["alerts"])
    user_id: str | None = Field(default=None, alias="userId", pattern=SUBJECT_PATTERN)
    type: str  # each subclass narrows these two to one event type and its data model
    data: ev.EventData

    @model_validator(mode="after")
    def _exactly_one_target(self) -> Self:
        if (self.group is None) == (self.user_id is None):
            raise ValueError("give either a group or a userId")
        return self

    def request(self) -> PublishRequest:
        return PublishRequest(group=self.group, user_id=self.user_id, type=self.type, data=ev.normalise(self.data))


# One model per event type, discriminated on `type`, so the document says exactly what
# `data` each type takes (and the resolver validates it before the domain does again).
_ONE_EVENT_MODELS = tuple(
    create_model(
        f"Publish{name}",
        __base__=_OneEvent,
        type=(Literal[name], ...),  # type: ignore[arg-type]  # a Literal built at import
        data=(model, ...),
    )
    for name, (model, _) in ev.EVENT_TYPES.items()
)


class BatchPublishRequest(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")

    events: list[dict[str, Any]] = Field(
        min_length=1, max_length=100, description="each one a publish request; validated one by one"
    )


def _publish_tag(value: Any) -> str | None:
    """Which model a /publish body is: a batch, or the one of its event type."""
    if isinstance(value, dict):
        kind = "batch" if "events" in value else value.get("type")
    else:
        kind = "batch" if isinstance(value, BatchPublishRequest) else getattr(value, "type", None)
    return kind if isinstance(kind, str) else None


PublishBody = Annotated[  # type: ignore[valid-type]  # built from the event types at import
    Union[
        (
            *(Annotated[model, Tag(name)] for name, model in zip(ev.EVENT_TYPES, _ONE_EVENT_MODELS, strict=True)),
            Annotated[BatchPublishRequest, Tag("batch")],
        )
    ],
    Discriminator(
        _publish_tag,
        custom_error_type="event_type",
        custom_error_message=f"type must be one of {', '.join(ev.EVENT_TYPES)} (or send a batch: events)",
    ),
]
# Union members pydantic names in error locations; dropped so a location is the field's path.
_UNION_LABELS = {*ev.EVENT_TYPES, "batch"}


class BatchPublishResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    results: list[dict[str, Any]] = Field(description="per event, in order: its publish response or its error")


class MessageProgressResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    id: str
    group: str
    seq: int
    status: str = Field(description="queued, done, or failed (could not be queued)")
    recipients: int = Field(description="members when it was published (an estimate: members come and go)")
    delivered: int
    gone: int
    failed: int
    slices: int = Field(description="membership shards the fan-out was split into")
    slicesDone: int
    done: bool


class GroupsResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    groups: list[GroupPresence] = Field(description="the groups the caller may read")


class HistoryResponse(BaseModel):
    model_config = ConfigDict(defer_build=True)

    items: list[dict[str, Any]] = Field(description="envelopes in seq order")
    next: int | None = Field(description="pass as `after` for the next page; null at the end")


class ConnectionClosedResponse(BaseModel):
    model_config = ConfigDict(defer_build=True, populate_by_name=True, serialize_by_alias=True)

    connection_id: str = Field(alias="connectionId")
    user_id: str = Field(alias="userId")
    closed: Literal[True] = True


class UserConnectionsClosedResponse(BaseModel):
    model_config = ConfigDict(defer_build=True, populate_by_name=True, serialize_by_alias=True)

    user_id: str = Field(alias="userId")
    closed: list[str] = Field(description="the connection ids closed")


# -- what each route can answer (the OpenAPI document declares every one) ---------------

_ERROR_MEANINGS = {
    401: "Unauthorized: no token, or one that fails verification",
    403: "Forbidden: the token lacks the role this route requires",
    404: "NotFound / UnknownGroup / UnknownMessage / UnknownConnection",
    405: "MethodNotAllowed (the Allow header lists the methods)",
    409: "IdempotencyConflict: the key was used with another request, or is still in progress",
    413: "PayloadTooLarge: the body exceeds 128 KB, or the delivered envelope would",
    415: "UnsupportedMediaType: the body is not application/json",
    422: "ValidationError: the offending fields are named (never echoed)",
    429: "RateLimited: API Gateway's throttling (Retry-After)",
    503: "ServiceUnavailable: DynamoDB throttling, or one group's seq too contended; retry after Retry-After",
}
_PROTECTED = (401, 403, 429, 503)
_WRITES = (*_PROTECTED, 404, 409, 413, 415, 422)
_SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


def _errors(*statuses: int) -> dict[int, OpenAPIResponse]:
    # 422 always: it replaces the resolver's default (a body shape this API never answers).
    return {
        status: {"description": _ERROR_MEANINGS[status], "content": {"application/json": {"model": ErrorBody}}}
        for status in sorted({*statuses, 422})
    }


def _answers(model: type[BaseModel], *statuses: int) -> dict[int, OpenAPIResponse]:
    """A route's answers: 200 with `model`, and the errors it can give."""
    ok: OpenAPIResponse = {"description": "OK", "content": {"application/json": {"model": model}}}
    return {200: ok, **_errors(*statuses)}


Published = Response[PublishResult | QueuedPublish]
PUBLISH_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {
        "description": "Delivered inline: the fan-out's counts",
        "content": {"application/json": {"model": PublishResult}},
    },
    202: {
        "description": "Queued: the group is larger than the inline threshold; poll GET /messages/{id}",
        "content": {"application/json": {"model": QueuedPublish}},
    },
    **_errors(*_WRITES),
}


def _idempotency_key() -> str | None:
    """The Idempotency-Key header: a retry with it gets the first answer, nothing is sent twice."""
    key = app.current_event.headers.get("idempotency-key") or None
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValidationFailed(
            f"Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters",
            details=[{"loc": ["header", "Idempotency-Key"], "msg": "too long", "type": "string_too_long"}],
        )
    return key


def _publish_one(request: PublishRequest) -> Published:
    publishing = bootstrap.hub().publishing
    return _published(publishing.publish_once(_face(), _idempotency_key(), _identity(), request, app.lambda_context))


def _publish(event_type: str, data: ev.EventData) -> Published:
    group = ev.EVENT_TYPES[event_type][1]
    return _publish_one(PublishRequest(group=group, type=event_type, data=ev.normalise(data)))


def _published(result: PublishResult | QueuedPublish) -> Published:
    """200 with the counts of an inline fan-out; 202 when the fan-out was queued."""
    return Response(202 if isinstance(result, QueuedPublish) else 200, content_types.APPLICATION_JSON, result)


def _batch_results(outcome: BatchOutcome) -> BatchPublishResponse:
    """Each event's result: its publish answer plus `"status": 200` (202 and `"queued": true`
    when queued), or its error with the status it would have had on its own."""
    results: list[dict[str, Any]] = []
    for item in outcome.items:
        if item.published is not None:
            answer = item.published.model_dump(mode="json", by_alias=True, exclude_none=True)
            queued = isinstance(item.published, QueuedPublish)
            results.append({**answer, "status": 202, "queued": True} if queued else {"status": 200, **answer})
        elif item.refused is not None:
            refused = item.refused
            error: dict[str, Any] = {"status": status_of(refused.code), "code": refused.code}
            error["message"] = refused.message
            if refused.errors:
                error["errors"] = refused.errors
            results.append(error)
    return BatchPublishResponse(results=results)


# -- routes -----------------------------------------------------------------------------


@router.get("/health", summary="Liveness check (no auth)", security=[], responses=_answers(HealthResponse, 405))
def health() -> HealthResponse:
    return HealthResponse(status="healthy")


@router.get("/status", summary="Open connections (no auth)", security=[], responses=_answers(StatusResponse, 405, 503))
def status() -> StatusResponse:
    return StatusResponse(status="ok", connections=bootstrap.hub().queries.connection_count())


@router.get(
    "/me",
    summary="Who this token is: user, roles, expiry, and what it may do",
    description="Cheap and side-effect free: clients use it to tell an expired token (401) from a "
    "forbidden one (200 with `canConnect: false`).",
    security=_SECURITY,
    responses=_answers(MeResponse, 401, 429),
)
def me() -> MeResponse:
    identity, hub = _identity(), bootstrap.hub()
    return MeResponse(
        user_id=identity.user_id,
        roles=sorted(identity.roles),
        expires_at=iso_utc(identity.expires_at) if identity.expires_at else "",
        can_connect=hub.access.can_connect(identity),
        can_publish=hub.access.can_publish(identity),
        groups=hub.queries.readable_groups(identity),
    )


@router.get(
    "/platform-snapshot",
    summary="Counts and the last value of every event type (of the groups the caller may read)",
    security=_SECURITY,
    responses=_answers(PlatformSnapshot, *_PROTECTED),
)
def platform_snapshot() -> PlatformSnapshot:
    counts, latest = bootstrap.hub().queries.snapshot(_identity())
    return PlatformSnapshot(connections=counts.connections, groups=counts.groups, latest=latest)


def _publish_route(path: str, summary: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return router.post(path, summary=summary, responses=PUBLISH_RESPONSES, security=_SECURITY)


@_publish_route("/broadcast/platform-update", "PlatformStatus → admins")
def broadcast_platform_update(body: Annotated[ev.PlatformStatus, Body()]) -> Published:
    return _publish("PlatformStatus", body)


@_publish_route("/broadcast/user-count", "UserCountUpdate → analytics (activeUsers ≤ totalUsers)")
def broadcast_user_count(body: Annotated[ev.UserCountUpdate, Body()]) -> Published:
    return _publish("UserCountUpdate", body)


@_publish_route("/broadcast/generation-metrics", "GenerationMetrics → analytics")
def broadcast_generation_metrics(body: Annotated[ev.GenerationMetrics, Body()]) -> Published:
    return _publish("GenerationMetrics", body)


@_publish_route("/broadcast/revenue", "RevenueUpdate → analytics")
def broadcast_revenue(body: Annotated[ev.RevenueUpdate, Body()]) -> Published:
    return _publish("RevenueUpdate", body)


@_publish_route("/broadcast/analytics", "AnalyticsUpdate → analytics")
def broadcast_analytics(body: Annotated[ev.AnalyticsUpdate, Body()]) -> Published:
    return _publish("AnalyticsUpdate", body)


@_publish_route("/broadcast/test", "TestMessage → admins")
def broadcast_test(body: Annotated[ev.TestMessage, Body()]) -> Published:
    return _publish("TestMessage", body)


@_publish_route("/alert", "Alert → alerts (severity from the body, default info)")
def alert(body: Annotated[ev.Alert, Body()]) -> Published:
    return _publish("Alert", body)


@_publish_route("/alert/warning", "Alert with severity warning → alerts")
def alert_warning(body: Annotated[ev.Alert, Body()]) -> Published:
    return _publish("Alert", body.model_copy(update={"severity": "warning"}))


@_publish_route("/alert/error", "Alert with severity error → alerts")
def alert_error(body: Annotated[ev.Alert, Body()]) -> Published:
    return _publish("Alert", body.model_copy(update={"severity": "error"}))


@_publish_route("/alert/performance", "PerformanceAlert → alerts")
def alert_performance(body: Annotated[ev.PerformanceAlert, Body()]) -> Published:
    return _publish("PerformanceAlert", body)


@_publish_route("/notify/user-action", "UserAction → user-activity")
def notify_user_action(body: Annotated[ev.UserAction, Body()]) -> Published:
    return _publish("UserAction", body)


@_publish_route("/notify/role-assignment", "RoleAssignment → user-activity")
def notify_role_assignment(body: Annotated[ev.RoleAssignment, Body()]) -> Published:
    return _publish("RoleAssignment", body)


@_publish_route("/notify/system-event", "SystemEvent → admins")
def notify_system_event(body: Annotated[ev.SystemEvent, Body()]) -> Published:
    return _publish("SystemEvent", body)


@router.post(
    "/publish",
    summary="Any event type to a group or a user; or a batch of up to 100 events",
    description="One event: `{group, type, data}` or `{userId, type, data}` → its publish response. "
    "A batch: `{events: [...]}` → `{results: [...]}`, one result per event in order; an invalid "
    "event does not block the others. `Idempotency-Key` makes a retry safe. `data` is validated "
    "against the event type's schema (see the /broadcast, /alert and /notify routes).",
    security=_SECURITY,
    responses={
        **PUBLISH_RESPONSES,
        200: {
            "description": "One event delivered inline (its counts), or a batch's results",
            "content": {"application/json": {"model": PublishResult | BatchPublishResponse}},
        },
    },
)
def publish(
    body: Annotated[PublishBody, Body()],  # type: ignore[valid-type]
) -> Response[PublishResult | QueuedPublish | BatchPublishResponse]:
    parsed = cast("_OneEvent | BatchPublishRequest", body)
    if isinstance(parsed, BatchPublishRequest):
        hub, identity = bootstrap.hub(), _identity()
        outcome = hub.publishing.publish_batch_once(
            _face(), _idempotency_key(), identity, parsed.events, app.lambda_context
        )
        return Response(200, content_types.APPLICATION_JSON, _batch_results(outcome))
    published: Response[Any] = _publish_one(parsed.request())
    return published


@router.get(
    "/messages/<message_id>",
    summary="Progress of a queued fan-out: recipients, delivered, gone, failed, done",
    description="Requires the publish role, or the role of the message's group.",
    security=_SECURITY,
    responses=_answers(MessageProgressResponse, *_PROTECTED, 404, 422),
)
def message_progress(
    message_id: Annotated[str, Path(pattern=MESSAGE_ID_PATTERN)],
) -> MessageProgressResponse:
    progress = bootstrap.hub().queries.message_progress(_identity(), message_id)
    return MessageProgressResponse.model_validate(progress.model_dump(by_alias=True))


@router.get(
    "/groups",
    summary="Presence of every group the caller may read",
    security=_SECURITY,
    responses=_answers(GroupsResponse, *_PROTECTED),
)
def groups() -> GroupsResponse:
    queries, identity = bootstrap.hub().queries, _identity()
    presences = [queries.presence(identity, group).to_dict() for group in queries.readable_groups(identity)]
    return GroupsResponse.model_validate({"groups": presences})


@router.get(
    "/groups/<group>",
    summary="Presence of one group: connections, distinct users, last seq, epoch",
    security=_SECURITY,
    responses=_answers(GroupPresence, *_PROTECTED, 404, 422),
)
def group_presence(group: Annotated[str, Path(pattern=GROUP_PATTERN)]) -> GroupPresence:
    return GroupPresence.model_validate(bootstrap.hub().queries.presence(_identity(), group).to_dict())


@router.get(
    "/groups/<group>/history",
    summary="Page through a group's message history",
    security=_SECURITY,
    responses=_answers(HistoryResponse, *_PROTECTED, 404, 422),
)
def group_history(
    group: Annotated[str, Path(pattern=GROUP_PATTERN)],
    after: Annotated[int, Query(ge=0, le=payload.MAX_SAFE_INTEGER, description="return messages with seq > after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> HistoryResponse:
    items, next_after = bootstrap.hub().queries.history(_identity(), group, after, limit)
    return HistoryResponse(items=[envelope.to_dict() for envelope in items], next=next_after)


@router.delete(
    "/connections/<connection_id>",
    summary="Close one connection now (admin)",
    description="API Gateway closes the socket; the connection and its memberships are removed at once.",
    security=_SECURITY,
    responses=_answers(ConnectionClosedResponse, *_PROTECTED, 404, 422),
)
def close_connection(
    connection_id: Annotated[str, Path(pattern=CONNECTION_ID_PATTERN)],
) -> ConnectionClosedResponse:
    removal = bootstrap.hub().connections.revoke(_identity(), connection_id)
    return ConnectionClosedResponse(connection_id=removal.connection_id, user_id=removal.user_id)


@router.delete(
    "/users/<user_id>/connections",
    summary="Close every connection of one user now (admin)",
    security=_SECURITY,
    responses=_answers(UserConnectionsClosedResponse, *_PROTECTED, 404, 422),
)
def close_user_connections(
    user_id: Annotated[str, Path(pattern=SUBJECT_PATTERN)],
) -> UserConnectionsClosedResponse:
    closed = bootstrap.hub().connections.revoke_user(_identity(), user_id)
    return UserConnectionsClosedResponse(user_id=user_id, closed=closed)


@router.get("/openapi.json", summary="This document", include_in_schema=False)
def openapi_json() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_document())


app.include_router(router, prefix=BASE_PATH)


def openapi_document() -> str:
    return app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description="Publish events to admin dashboards connected over WebSocket. See docs/protocol.md.",
        security_schemes={"bearer": HTTPBearer(bearerFormat="JWT")},
    )


# -- errors -----------------------------------------------------------------------------


def _error_body(code: str, message: str, errors: Any = None) -> str:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = bounded_details(errors)
    return json.dumps(body)


def _error_headers(exc: RealtimeError) -> dict[str, str]:
    headers = {"Content-Type": content_types.APPLICATION_JSON}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    elif isinstance(exc, ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, _MethodNotAllowed):
        headers["Allow"] = ", ".join(exc.allowed)
    return headers


def _error_response(exc: RealtimeError) -> dict[str, Any]:
    """An answer given before the resolver runs (authentication, routing, the body)."""
    details = exc.details
    return {
        "statusCode": http_status(exc),
        "headers": _error_headers(exc),
        "body": _error_body(exc.code, exc.message, details),
        "isBase64Encoded": False,
    }


@app.exception_handler(RealtimeError)
def _domain_error(exc: RealtimeError) -> Response[str]:
    details = exc.details
    if isinstance(exc, ValidationFailed) and details:  # the domain names fields of the body
        details = [d if d["loc"][:1] in (["body"], ["header"]) else {**d, "loc": ["body", *d["loc"]]} for d in details]
    return Response(
        status_code=http_status(exc),
        content_type=content_types.APPLICATION_JSON,
        body=_error_body(exc.code, exc.message, details),
        headers={k: v for k, v in _error_headers(exc).items() if k != "Content-Type"},
    )


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[str]:
    errors = [{"loc": _field_path(err), "msg": err.get("msg", ""), "type": err.get("type", "")} for err in exc.errors()]
    return Response(
        status_code=422,
        content_type=content_types.APPLICATION_JSON,
        body=_error_body(ValidationFailed.code, "the request is invalid", errors),
    )


def _field_path(error: dict[str, Any]) -> list[Any]:
    """The offending field's path, without the union members pydantic names on the way."""
    loc = [step for step in error.get("loc", []) if step not in _UNION_LABELS]
    if error.get("type") == "event_type":
        loc.append("type")
    return loc


@app.not_found
def _not_found(_exc: NotFoundError) -> Response[str]:
    return Response(
        status_code=404, content_type=content_types.APPLICATION_JSON, body=_error_body("NotFound", "no such route")
    )


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None
