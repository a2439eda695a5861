"""The WebSocket routes: $connect, $disconnect and every client action."""

from __future__ import annotations

import base64
from collections.abc import Callable
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import APIGatewayWebSocketDisconnectEventModel

from realtime.domain.hub import RealtimeHub
from realtime.domain.models import Connection, PublishRequest
from realtime.entrypoints.events import ConnectEvent, MessageEvent
from realtime.errors import RealtimeError
from realtime.protocol import (
    ClientAction,
    GetConnectionCount,
    GetPlatformStats,
    GetPresence,
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
FollowUp = Callable[[], None] | None


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


def on_message(event: dict[str, Any], hub: RealtimeHub, context: Any = None) -> dict[str, Any]:
    """Every action route and $default. Bad input is answered with an Error frame; the
    connection stays open and the invocation succeeds."""
    hub.lambda_context = context
    parsed = parse(event=event, model=MessageEvent)
    connection_id = parsed.request_context.connection_id
    body = parsed.body if isinstance(parsed.body, str) else None
    if body is not None and parsed.is_base64_encoded:
        body = base64.b64decode(body).decode("utf-8", errors="replace")
    raw: dict[str, Any] | None = None
    then: Callable[[], None] | None = None
    try:
        raw = load_frame(body)
        action = parse_action(raw)
        connection = hub.connection(connection_id)
        if connection is None:  # its $disconnect already ran, or it expired
            return OK
        reply, then = _dispatch(action, connection, hub)
    except RealtimeError as exc:
        reply = error_reply(exc.code, exc.message, echo_request_id(raw), exc.details)
    if hub.reply(connection_id, reply) and then is not None:
        then()
    return OK


def _dispatch(action: ClientAction, connection: Connection, hub: RealtimeHub) -> tuple[dict[str, Any], FollowUp]:
    """The reply to send, and what to do once it is sent (a resume's replay)."""
    reply: dict[str, Any]
    then: FollowUp = None
    identity = connection.identity
    match action:
        case Subscribe(group=group, since=since, epoch=epoch):
            subscription = hub.subscribe(connection, group, since=since, epoch=epoch)
            reply = subscription.reply()
            if subscription.recovered and since is not None:
                then = partial(hub.replay, connection, group, since)
        case Unsubscribe(group=group):
            hub.unsubscribe(connection, group)
            reply = {"type": "Unsubscribed", "group": group}
        case GetPlatformStats():
            reply = {"type": "PlatformStats", "data": hub.platform_snapshot()}
        case GetConnectionCount():
            reply = {"type": "ConnectionCount", "data": hub.counts().model_dump()}
        case GetPresence(group=group):
            reply = {"type": "Presence", "data": hub.presence(group, identity=identity, with_user_ids=True)}
        case Publish():
            request = PublishRequest(group=action.group, user_id=action.user_id, type=action.type, data=action.data)
            result = hub.once(
                action.idempotency_key,
                identity,
                request.model_dump(mode="json", by_alias=True),
                partial(hub.publish_request, identity, request),
            )
            reply = {
                "type": "Published",
                "eventType": action.type,
                **{k: v for k, v in result.items() if k != "type"},
            }
        case Ping():
            reply = {"type": "Pong"}
    if action.request_id is not None:
        reply["requestId"] = action.request_id
    return reply, then
