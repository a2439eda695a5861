"""The Lambda events API Gateway sends, built from what the emulator saw on the wire.

Shapes follow AWS's documented examples (WebSocket REQUEST authorizer, $connect,
MESSAGE, $disconnect and the REST proxy integration); tests validate them against
Powertools' parser models so a handler sees nothing here that AWS would not send.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from local.emulated.ids import gateway_id, trace_id
from local.runner.settings import LOCAL_ACCOUNT_ID, LOCAL_API_ID, LOCAL_REGION, LOCAL_STAGE
from realtime.protocol import ACTIONS

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Gateway:
    """Where the emulated API lives: what every event's requestContext names."""

    domain_name: str
    api_id: str = LOCAL_API_ID
    stage: str = LOCAL_STAGE
    region: str = LOCAL_REGION
    account_id: str = LOCAL_ACCOUNT_ID

    def route_arn(self, route_key: str) -> str:
        """A WebSocket route's ARN, as its authorizer sees it."""
        return f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}/{self.stage}/{route_key}"

    def method_arn(self, method: str, path: str) -> str:
        """A REST request's ARN, as its authorizer sees it."""
        return self.route_arn(f"{method}/{path.lstrip('/')}")


@dataclass(frozen=True)
class HttpRequest:
    """What API Gateway passes on from an HTTP request (a REST call or a WebSocket upgrade)."""

    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    source_ip: str

    @classmethod
    def from_asgi(
        cls, raw_headers: Iterable[tuple[bytes, bytes]], query: list[tuple[str, str]], source_ip: str
    ) -> HttpRequest:
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw_headers]
        return cls(headers=headers, query=query, source_ip=source_ip)

    @property
    def user_agent(self) -> str | None:
        return next((value for name, value in reversed(self.headers) if name.lower() == "user-agent"), None)


@dataclass
class Session:
    """One WebSocket connection as API Gateway knows it. `authorizer` is what the
    authorizer returned (its context plus principalId), passed on to every route."""

    connection_id: str
    connected_at_ms: int
    source_ip: str
    user_agent: str | None
    authorizer: dict[str, Any] = field(default_factory=dict)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def request_time(epoch_ms: int) -> str:
    """API Gateway's `requestTime`: 09/Feb/2024:10:12:13 +0000 (English month, UTC)."""
    moment = time.gmtime(epoch_ms / 1000)
    return f"{moment.tm_mday:02d}/{_MONTHS[moment.tm_mon - 1]}/{time.strftime('%Y:%H:%M:%S', moment)} +0000"


def route_key(frame: str | bytes) -> str:
    """Route selection on `$request.body.action`; anything else goes to $default."""
    if isinstance(frame, bytes):
        return "$default"
    try:
        body = json.loads(frame)
    except (ValueError, RecursionError):
        return "$default"
    action = body.get("action") if isinstance(body, dict) else None
    return action if isinstance(action, str) and action in ACTIONS else "$default"


# -- WebSocket ------------------------------------------------------------------------


def authorizer_event(gateway: Gateway, session: Session, request: HttpRequest) -> dict[str, Any]:
    """The REQUEST authorizer event of $connect."""
    return {
        "type": "REQUEST",
        "methodArn": gateway.route_arn("$connect"),
        **_upgrade_request(gateway, session, request),
        "stageVariables": {},
        "requestContext": _websocket_context(gateway, session, "$connect", "CONNECT"),
    }


def connect_event(gateway: Gateway, session: Session, request: HttpRequest) -> dict[str, Any]:
    return {
        **_upgrade_request(gateway, session, request),
        "requestContext": {
            **_websocket_context(gateway, session, "$connect", "CONNECT"),
            "authorizer": dict(session.authorizer),
        },
        "isBase64Encoded": False,
    }


def message_event(gateway: Gateway, session: Session, frame: str | bytes) -> dict[str, Any]:
    binary = isinstance(frame, bytes)
    context = _websocket_context(gateway, session, route_key(frame), "MESSAGE")
    context["messageId"] = gateway_id()
    if session.authorizer:
        context["authorizer"] = dict(session.authorizer)
    return {
        "requestContext": context,
        "body": base64.b64encode(frame).decode() if isinstance(frame, bytes) else frame,
        "isBase64Encoded": binary,
    }


def disconnect_event(gateway: Gateway, session: Session, status_code: int, reason: str) -> dict[str, Any]:
    # AWS sends these four headers (three of them empty) on $disconnect, nothing else.
    headers = {"Host": gateway.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    context = _websocket_context(gateway, session, "$disconnect", "DISCONNECT")
    context.update(disconnectStatusCode=status_code, disconnectReason=reason)
    if session.authorizer:
        context["authorizer"] = dict(session.authorizer)
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def _upgrade_request(gateway: Gateway, session: Session, request: HttpRequest) -> dict[str, Any]:
    forwarded = [
        ("X-Forwarded-For", session.source_ip),
        ("X-Forwarded-Port", gateway.domain_name.rpartition(":")[2] or "80"),
        ("X-Forwarded-Proto", "http"),
        ("X-Amzn-Trace-Id", trace_id(session.connected_at_ms // 1000)),
    ]
    headers, multi_headers = _single_and_multi([*request.headers, *forwarded])
    query, multi_query = _single_and_multi(request.query)
    return {
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
    }


def _websocket_context(gateway: Gateway, session: Session, route: str, event_type: str) -> dict[str, Any]:
    epoch_ms = now_ms()
    return {
        "routeKey": route,
        "eventType": event_type,
        "extendedRequestId": gateway_id(),
        "requestTime": request_time(epoch_ms),
        "messageDirection": "IN",
        "stage": gateway.stage,
        "connectedAt": session.connected_at_ms,
        "requestTimeEpoch": epoch_ms,
        "identity": {"userAgent": session.user_agent, "sourceIp": session.source_ip},
        "requestId": gateway_id(),
        "domainName": gateway.domain_name,
        "connectionId": session.connection_id,
        "apiId": gateway.api_id,
    }


# -- REST -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestResource:
    """The REST API resource a request matched, e.g. `/api/admin/realtime/{proxy+}`."""

    path: str
    path_parameters: dict[str, str] | None = None


def rest_event(
    gateway: Gateway,
    *,
    method: str,
    path: str,
    resource: RestResource,
    request: HttpRequest,
    body: bytes,
    request_id: str,
    authorizer: dict[str, Any] | None = None,
    caller: str | None = None,
) -> dict[str, Any]:
    """A REST API (v1) Lambda proxy event. `authorizer` is what the route's authorizer
    returned (its context plus principalId); `caller` the ARN of the IAM principal that
    signed the request, on a route with IAM authorization."""
    epoch_ms = now_ms()
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(request.query)
    text = _utf8_or_none(body)
    return {
        "resource": resource.path,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": resource.path_parameters,
        "stageVariables": None,
        "requestContext": {
            **({"authorizer": dict(authorizer)} if authorizer else {}),
            "resourceId": hashlib.sha256(resource.path.encode()).hexdigest()[:6],  # stable per resource
            "resourcePath": resource.path,
            "httpMethod": method,
            "extendedRequestId": gateway_id(),
            "requestTime": request_time(epoch_ms),
            "requestTimeEpoch": epoch_ms,
            "path": f"/{gateway.stage}{path}",
            "accountId": gateway.account_id,
            "protocol": "HTTP/1.1",
            "stage": gateway.stage,
            "domainPrefix": gateway.domain_name.partition(".")[0],
            "domainName": gateway.domain_name,
            "apiId": gateway.api_id,
            "requestId": request_id,
            "identity": {
                "sourceIp": request.source_ip,
                "userAgent": request.user_agent,
                "accessKey": None,
                "accountId": caller.split(":")[4] if caller else None,
                "caller": None,  # IAM's principal id (AIDA…, AROA…:session): nothing reads it
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "user": None,
                "userArn": caller,
            },
        },
        "body": (text if text is not None else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and text is None,
    }


def _single_and_multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """API Gateway's two views of repeated names: the last value, and every value."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _utf8_or_none(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


# -- EventBridge ----------------------------------------------------------------------


def scheduled_event(gateway: Gateway, rule: str) -> dict[str, Any]:
    """What an EventBridge schedule rule sends its target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": gateway.account_id,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": gateway.region,
        "resources": [f"arn:aws:events:{gateway.region}:{gateway.account_id}:rule/{rule}"],
        "detail": {},
    }
