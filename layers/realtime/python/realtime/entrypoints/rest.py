"""The REST API for backend services: Powertools' resolver with pydantic validation and
a generated OpenAPI document. Authentication and the size limit are checked before the
resolver runs, so an unauthenticated caller learns nothing from validation errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from functools import cache, partial
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from realtime.auth import TokenVerifier, bearer_token
from realtime.config import MAX_MESSAGE_BYTES, RestSettings, auth_settings
from realtime.domain import events as ev
from realtime.domain.hub import RealtimeHub
from realtime.domain.models import Identity, PublishRequest, PublishResult, QueuedPublish
from realtime.errors import PayloadTooLarge, RealtimeError, Unauthorized, ValidationFailed

BASE_PATH = "/api/admin/realtime"
PUBLIC_PATHS = {f"{BASE_PATH}/health", f"{BASE_PATH}/status", f"{BASE_PATH}/openapi.json"}
API_TITLE = "Realtime admin hub"
API_VERSION = "1.0.0"


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


@cache
def _hub() -> RealtimeHub:
    return RealtimeHub()


@cache
def _verifier() -> TokenVerifier:
    return TokenVerifier(auth_settings())


# Tests (and the benchmarks) swap the ports here; in Lambda the real adapters are used.
_overrides: dict[str, Any] = {}


def use_ports(*, hub: RealtimeHub | None = None, verifier: TokenVerifier | None = None) -> None:
    _overrides.clear()
    _overrides.update({k: v for k, v in {"hub": hub, "verifier": verifier}.items() if v is not None})


def _current_hub() -> RealtimeHub:
    hub = _overrides.get("hub")
    return hub if isinstance(hub, RealtimeHub) else _hub()


def _current_verifier() -> TokenVerifier:
    verifier = _overrides.get("verifier")
    return verifier if isinstance(verifier, TokenVerifier) else _verifier()


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _current_hub().lambda_context = context
    try:
        if (event.get("path") or "") not in PUBLIC_PATHS:
            token = bearer_token(_header(event, "authorization"))
            identity = _current_verifier().require(token, _current_hub().settings.publish_role)
            app.append_context(identity=identity)
        if _body_size(event) > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"the request body exceeds {MAX_MESSAGE_BYTES} bytes")
    except RealtimeError as exc:
        response = _error_response(exc.http_status, exc.code, exc.message)
        origin = _header(event, "origin")
        if CORS is not None and origin:  # the resolver adds these itself; early answers need them too
            response["headers"].update(CORS.to_dict(origin))
        return response
    return app.resolve(event, context)


def _identity() -> Identity:
    identity = app.context.get("identity")
    if not isinstance(identity, Identity):  # every non-public route is authenticated in handle()
        raise Unauthorized("a bearer token is required")
    return identity


# -- request and response models ------------------------------------------------------


class HealthResponse(BaseModel):
    status: str = Field(examples=["healthy"])


class StatusResponse(BaseModel):
    status: str = Field(examples=["ok"])
    connections: int


class PlatformSnapshot(BaseModel):
    connections: int
    groups: dict[str, int]
    latest: dict[str, dict[str, Any]] = Field(description="the last envelope of each event type")


class BatchPublishRequest(BaseModel):
    events: list[dict[str, Any]] = Field(
        min_length=1, max_length=100, description="each one a publish request; validated one by one"
    )


class BatchPublishResponse(BaseModel):
    results: list[dict[str, Any]] = Field(description="per event, in order: its publish response or its error")


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
}


class MessageProgressResponse(BaseModel):
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


class PresenceResponse(BaseModel):
    group: str
    connections: int
    users: int = Field(description="distinct user ids with a connection in the group")
    lastSeq: int
    epoch: str


class GroupsResponse(BaseModel):
    groups: list[PresenceResponse]


class HistoryResponse(BaseModel):
    items: list[dict[str, Any]] = Field(description="envelopes in seq order")
    next: int | None = Field(description="pass as `after` for the next page; null at the end")


def _once(request: Any, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Honour the Idempotency-Key header: a retry gets the first answer, nothing is sent twice."""
    key = app.current_event.headers.get("idempotency-key") or None
    if key is not None and len(key) > 256:
        raise ValidationFailed("Idempotency-Key is longer than 256 characters")
    return _current_hub().once(key, _identity(), {"path": app.current_event.path, "body": request}, compute)


def _publish(event_type: str, data: ev.EventData) -> Published:
    payload = ev.normalise(data)
    request = PublishRequest(group=ev.EVENT_TYPES[event_type][1], type=event_type, data=payload)
    return _published(_once(payload, partial(_current_hub().publish_request, _identity(), request)))


def _published(result: dict[str, Any]) -> Published:
    """200 with the counts of an inline fan-out; 202 when the fan-out was queued."""
    if result.get("status") == "queued":
        return Response(202, content_types.APPLICATION_JSON, QueuedPublish.model_validate(result))
    return Response(200, content_types.APPLICATION_JSON, PublishResult.model_validate(result))


# -- routes -----------------------------------------------------------------------------


@router.get("/health", summary="Liveness check (no auth)")
def health() -> HealthResponse:
    return HealthResponse(status="healthy")


@router.get("/status", summary="Open connections (no auth)")
def status() -> StatusResponse:
    return StatusResponse(status="ok", connections=_current_hub().connection_count())


@router.get("/platform-snapshot", summary="Counts and the last value of every event type")
def platform_snapshot() -> PlatformSnapshot:
    return PlatformSnapshot.model_validate(_current_hub().platform_snapshot())


@router.post("/broadcast/platform-update", summary="PlatformStatus → admins", responses=PUBLISH_RESPONSES)
def broadcast_platform_update(body: Annotated[ev.PlatformStatus, Body()]) -> Published:
    return _publish("PlatformStatus", body)


@router.post("/broadcast/user-count", summary="UserCountUpdate → analytics", responses=PUBLISH_RESPONSES)
def broadcast_user_count(body: Annotated[ev.UserCountUpdate, Body()]) -> Published:
    return _publish("UserCountUpdate", body)


@router.post("/broadcast/generation-metrics", summary="GenerationMetrics → analytics", responses=PUBLISH_RESPONSES)
def broadcast_generation_metrics(body: Annotated[ev.GenerationMetrics, Body()]) -> Published:
    return _publish("GenerationMetrics", body)


@router.post("/broadcast/revenue", summary="RevenueUpdate → analytics", responses=PUBLISH_RESPONSES)
def broadcast_revenue(body: Annotated[ev.RevenueUpdate, Body()]) -> Published:
    return _publish("RevenueUpdate", body)


@router.post("/broadcast/analytics", summary="AnalyticsUpdate → analytics", responses=PUBLISH_RESPONSES)
def broadcast_analytics(body: Annotated[ev.AnalyticsUpdate, Body()]) -> Published:
    return _publish("AnalyticsUpdate", body)


@router.post("/broadcast/test", summary="TestMessage → admins", responses=PUBLISH_RESPONSES)
def broadcast_test(body: Annotated[ev.TestMessage, Body()]) -> Published:
    return _publish("TestMessage", body)


@router.post("/alert", summary="Alert → alerts (severity from the body, default info)", responses=PUBLISH_RESPONSES)
def alert(body: Annotated[ev.Alert, Body()]) -> Published:
    return _publish("Alert", body)


@router.post("/alert/warning", summary="Alert with severity warning → alerts", responses=PUBLISH_RESPONSES)
def alert_warning(body: Annotated[ev.Alert, Body()]) -> Published:
    return _publish("Alert", body.model_copy(update={"severity": "warning"}))


@router.post("/alert/error", summary="Alert with severity error → alerts", responses=PUBLISH_RESPONSES)
def alert_error(body: Annotated[ev.Alert, Body()]) -> Published:
    return _publish("Alert", body.model_copy(update={"severity": "error"}))


@router.post("/alert/performance", summary="PerformanceAlert → alerts", responses=PUBLISH_RESPONSES)
def alert_performance(body: Annotated[ev.PerformanceAlert, Body()]) -> Published:
    return _publish("PerformanceAlert", body)


@router.post("/notify/user-action", summary="UserAction → user-activity", responses=PUBLISH_RESPONSES)
def notify_user_action(body: Annotated[ev.UserAction, Body()]) -> Published:
    return _publish("UserAction", body)


@router.post("/notify/role-assignment", summary="RoleAssignment → user-activity", responses=PUBLISH_RESPONSES)
def notify_role_assignment(body: Annotated[ev.RoleAssignment, Body()]) -> Published:
    return _publish("RoleAssignment", body)


@router.post("/notify/system-event", summary="SystemEvent → admins", responses=PUBLISH_RESPONSES)
def notify_system_event(body: Annotated[ev.SystemEvent, Body()]) -> Published:
    return _publish("SystemEvent", body)


@router.post(
    "/publish",
    summary="Any event type to a group or a user; or a batch of up to 100 events",
    description="One event: `{group | userId, type, data}` → its publish response. A batch: "
    "`{events: [...]}` → `{results: [...]}`, one result per event in order; an invalid event "
    "does not block the others. `Idempotency-Key` makes a retry safe.",
    responses={
        **PUBLISH_RESPONSES,
        200: {
            "description": "One event delivered inline (its counts), or a batch's results",
            "content": {"application/json": {"model": PublishResult | BatchPublishResponse}},
        },
    },
)
def publish(
    body: Annotated[PublishRequest | BatchPublishRequest, Body()],
) -> Response[PublishResult | QueuedPublish | BatchPublishResponse]:
    hub, identity = _current_hub(), _identity()
    request = body.model_dump(mode="json", by_alias=True)
    if isinstance(body, BatchPublishRequest):
        events = body.events
        results = _once(request, lambda: {"results": hub.publish_batch(identity, events)})
        return Response(200, content_types.APPLICATION_JSON, BatchPublishResponse.model_validate(results))
    published: Response[Any] = _published(_once(request, partial(hub.publish_request, identity, body)))
    return published


@router.get(
    "/messages/<message_id>",
    summary="Progress of a queued fan-out: recipients, delivered, gone, failed, done",
    responses={404: {"description": "no queued message with this id (UnknownMessage)"}},
)
def message_progress(message_id: str) -> MessageProgressResponse:
    return MessageProgressResponse.model_validate(_current_hub().message_progress(message_id))


@router.get("/groups", summary="Presence of every configured group")
def groups() -> GroupsResponse:
    hub = _current_hub()
    return GroupsResponse.model_validate({"groups": [hub.presence(group) for group in hub.settings.group_roles]})


@router.get("/groups/<group>", summary="Presence of one group: connections, distinct users, last seq, epoch")
def group_presence(group: str) -> PresenceResponse:
    return PresenceResponse.model_validate(_current_hub().presence(group))


@router.get("/groups/<group>/history", summary="Page through a group's message history")
def group_history(
    group: str,
    after: Annotated[int, Query(ge=0, description="return messages with seq > after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> HistoryResponse:
    items, next_after = _current_hub().history(group, after, limit)
    return HistoryResponse(items=[envelope.to_dict() for envelope in items], next=next_after)


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
        security=[{"bearer": []}],
    )


# -- errors -----------------------------------------------------------------------------


def _error_body(code: str, message: str, errors: Any = None) -> str:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    return json.dumps(body)


def _error_response(status: int, code: str, message: str) -> dict[str, Any]:
    """An answer given before the resolver runs (authentication, size limit)."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": _error_body(code, message),
        "isBase64Encoded": False,
    }


def _json_response(status: int, code: str, message: str, errors: Any = None) -> Response[str]:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=_error_body(code, message, errors)
    )


@app.exception_handler(RealtimeError)
def _domain_error(exc: RealtimeError) -> Response[str]:
    details = exc.details
    if isinstance(exc, ValidationFailed) and details:
        details = [{**d, "loc": ["body", *d["loc"]]} for d in details]
    return _json_response(exc.http_status, exc.code, exc.message, details)


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[str]:
    errors = [
        {"loc": list(err.get("loc", [])), "msg": err.get("msg", ""), "type": err.get("type", "")}
        for err in exc.errors()
    ]
    return _json_response(422, ValidationFailed.code, "the request is invalid", errors)


@app.not_found
def _not_found(_exc: NotFoundError) -> Response[str]:
    return _json_response(404, "NotFound", "no such route")


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(base64.b64decode(body))
    return len(body.encode())
