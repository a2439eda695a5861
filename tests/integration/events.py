"""API Gateway events as AWS sends them (shapes from the API Gateway developer guide),
for driving the handlers directly."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

API_ID = "a1b2c3d4e5"
STAGE = "prod"
DOMAIN = f"{API_ID}.execute-api.us-east-1.amazonaws.com"


def _context(connection_id: str, route_key: str, event_type: str) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": "Ab1CdEfGhIjKlMn=",
        "requestTime": "26/Nov/2026:10:00:00 +0000",
        "messageDirection": "IN",
        "stage": STAGE,
        "connectedAt": now_ms - 1000,
        "requestTimeEpoch": now_ms,
        "identity": {"userAgent": "Mozilla/5.0", "sourceIp": "203.0.113.7"},
        "requestId": str(uuid.uuid4()),
        "domainName": DOMAIN,
        "connectionId": connection_id,
        "apiId": API_ID,
    }


def _headers() -> dict[str, str]:
    return {
        "Host": DOMAIN,
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }


def authorizer_event(connection_id: str, token: str | None) -> dict[str, Any]:
    query = {"token": token} if token is not None else {}
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:us-east-1:123456789012:{API_ID}/{STAGE}/$connect",
        "headers": _headers(),
        "multiValueHeaders": {k: [v] for k, v in _headers().items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "stageVariables": {},
        "requestContext": _context(connection_id, "$connect", "CONNECT"),
    }


def connect_event(connection_id: str, authorizer_context: dict[str, Any], principal_id: str) -> dict[str, Any]:
    context = _context(connection_id, "$connect", "CONNECT")
    context["authorizer"] = {**authorizer_context, "principalId": principal_id, "integrationLatency": 12}
    return {
        "headers": _headers(),
        "multiValueHeaders": {k: [v] for k, v in _headers().items()},
        "queryStringParameters": {"token": "redacted"},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def message_event(connection_id: str, body: str | bytes, route_key: str = "$default") -> dict[str, Any]:
    context = _context(connection_id, route_key, "MESSAGE")
    context["messageId"] = "Z1AbCdEfGhIjKlM="
    if isinstance(body, bytes):
        return {"requestContext": context, "body": base64.b64encode(body).decode(), "isBase64Encoded": True}
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def action_event(connection_id: str, frame: dict[str, Any]) -> dict[str, Any]:
    return message_event(connection_id, json.dumps(frame), route_key=str(frame.get("action", "$default")))


def disconnect_event(connection_id: str) -> dict[str, Any]:
    context = _context(connection_id, "$disconnect", "DISCONNECT")
    context["disconnectStatusCode"] = 1001
    context["disconnectReason"] = "Going away"
    return {
        "headers": {"Host": DOMAIN, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""},
        "multiValueHeaders": {"Host": [DOMAIN]},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def iam_event(method: str, path: str, body: Any, principal: str | None) -> dict[str, Any]:
    """A call to the IAM routes (`path` under the base path), SigV4-verified by API Gateway,
    which names the principal in requestContext.identity."""
    event = rest_event(method, f"/iam{path}", body)
    event["resource"] = event["requestContext"]["resourcePath"] = "/iam/api/admin/realtime/{proxy+}"
    event["requestContext"]["identity"].update(
        {"userArn": principal, "accountId": "123456789012", "caller": "AROAEXAMPLE:i-0abc", "accessKey": "ASIAX"}
    )
    return event


def rest_event(method: str, path: str, body: Any = None, token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Host": "api.example.com", "User-Agent": "curl/8"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    proxy = path.removeprefix("/")
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": proxy},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "extendedRequestId": "XyZ=",
            "requestTime": "26/Nov/2026:10:00:00 +0000",
            "path": f"/{STAGE}{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": "api",
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8"},
            "domainName": "api.example.com",
            "apiId": "r3st4p1",
        },
        "body": raw,
        "isBase64Encoded": False,
    }
