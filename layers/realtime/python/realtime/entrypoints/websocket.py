"""The WebSocket routes: $connect, $disconnect and every client action."""

from __future__ import annotations

import base64
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayWebSocketDisconnectEventModel

from realtime.domain.hub import RealtimeHub
from realtime.domain.models import Connection
from realtime.entrypoints.events import ConnectEvent, MessageEvent
from realtime.errors import RealtimeError
from realtime.protocol import (
    GetConnectionCount,
    GetPlatformStats,
    Ping,
    Publish,
    Subscribe,
    Unsubscribe,
    echo_request_id,
    error_reply,
    load_frame,
    parse_action,
)

OK = {"statusCode": 200}


def on_connect(event: dict[str, Any], hub: RealtimeHub) -> dict[str, Any]:
    parsed = parse(event=event, model=ConnectEvent)
    try:
        hub.connect(parsed.request_context.connection_id, parsed.request_context.authorizer.identity)
    except RealtimeError as exc:
        return {"statusCode": exc.http_status}
    return OK


def on_disconnect(event: dict[str, Any], hub: RealtimeHub) -> dict[str, Any]:
    parsed = parse(event=event, model=APIGatewayWebSocketDisconnectEventModel)
    hub.disconnect(parsed.request_context.connection_id)
    return OK


def on_message(event: dict[str, Any], hub: RealtimeHub) -> dict[str, Any]:
    """Every action route and $default. Bad input is answered with an Error frame; the
    connection stays open and the invocation succeeds."""
    parsed = parse(event=event, model=MessageEvent)
    connection_id = parsed.request_context.connection_id
    body = parsed.body if isinstance(parsed.body, str) else None
    if body is not None and parsed.is_base64_encoded:
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    raw: dict[str, Any] | None = None
    try:
        raw = load_frame(body)
        action = parse_action(raw)
        connection = hub.connection(connection_id)
        if connection is None:  # its $disconnect already ran, or it expired
            return OK
        reply = _dispatch(action, connection, hub)
    except RealtimeError as exc:
        reply = error_reply(exc.code, exc.message, echo_request_id(raw), exc.details)
    hub.reply(connection_id, reply)
    return OK


def _dispatch(
    action: Subscribe | Unsubscribe | GetPlatformStats | GetConnectionCount | Publish | Ping,
    connection: Connection,
    hub: RealtimeHub,
) -> dict[str, Any]:
    reply: dict[str, Any]
    match action:
        case Subscribe(group=group):
            reply = {"type": "Subscribed", "group": group, "seq": hub.subscribe(connection, group)}
        case Unsubscribe(group=group):
            hub.unsubscribe(connection, group)
            reply = {"type": "Unsubscribed", "group": group}
        case GetPlatformStats():
            reply = {"type": "PlatformStats", "data": hub.platform_snapshot()}
        case GetConnectionCount():
            reply = {"type": "ConnectionCount", "data": hub.counts().model_dump()}
        case Publish(group=group, type=event_type, data=data):
            result = hub.publish(connection.identity, group, event_type, data).model_dump()
            reply = {"type": "Published", "eventType": result.pop("type"), **result}
        case Ping():
            reply = {"type": "Pong"}
    if action.request_id is not None:
        reply["requestId"] = action.request_id
    return reply
