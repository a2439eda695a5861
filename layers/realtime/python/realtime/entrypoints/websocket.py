"""The WebSocket routes: every client action; $connect and $disconnect are in
realtime.entrypoints.connection_routes (re-exported here)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from realtime.bootstrap import Hub
from realtime.domain.models import Connection, Identity, PublishRequest, iso_utc
from realtime.entrypoints.connection_routes import OK, on_connect, on_disconnect
from realtime.entrypoints.gateway_events import MessageEvent
from realtime.errors import InvalidMessage, RateLimited, RealtimeError, Unauthorized
from realtime.protocol import (
    ClientAction,
    ConnectionCount,
    GetConnectionCount,
    GetPlatformStats,
    GetPresence,
    Ping,
    PlatformSnapshot,
    PlatformStats,
    Pong,
    PresenceReply,
    Publish,
    Published,
    Refresh,
    Refreshed,
    Subscribe,
    Subscribed,
    Unsubscribe,
    Unsubscribed,
    echo_request_id,
    error_frame,
    load_frame,
    parse_action,
)


class Verifier(Protocol):
    """realtime.auth.TokenVerifier; only `refresh` verifies a token, and the message function
    passes bootstrap.VerifierOnFirstUse, which loads PyJWT at the first one."""

    def verify(self, token: str | None) -> Identity: ...


__all__ = ["on_connect", "on_disconnect", "on_message"]
FollowUp = Callable[[], None] | None


def on_message(event: dict[str, Any], hub: Hub, verifier: Verifier, context: Any = None) -> dict[str, Any]:
    """Every action route and $default. Bad input is answered with an Error frame; the
    connection stays open and the invocation succeeds. Frames beyond the connection's rate
    are answered RateLimited before anything is read from the database; an action after
    the connection's token expired is answered Unauthorized and the connection is closed."""
    parsed = MessageEvent.model_validate(event)
    connection_id = parsed.request_context.connection_id
    raw: dict[str, Any] | None = None
    connection: Connection | None = None
    then: FollowUp = None
    close_after = False
    try:
        raw = load_frame(_frame_body(parsed.body, parsed.is_base64_encoded))
        wait = hub.limiter.take(connection_id)
        if wait is not None:
            raise RateLimited("too many actions on this connection; slow down", retry_after=wait)
        action = parse_action(raw)
        connection = hub.connections.get(connection_id)
        if connection is None:  # its $disconnect already ran, or it expired
            return OK
        if not isinstance(action, Refresh) and hub.connections.token_expired(connection):
            close_after = True
            raise Unauthorized("this connection's token has expired; send a refresh action before it expires")
        reply, then = _dispatch(action, connection, hub, verifier, context)
    except RealtimeError as exc:
        reply = error_frame(exc, request_id=echo_request_id(raw))
    delivered = hub.departures.reply(connection_id, reply)
    if close_after and connection is not None:
        hub.connections.close_expired(connection)
    elif delivered and then is not None:
        then()
    return OK


def _frame_body(body: Any, is_base64: bool) -> str | bytes | None:
    """The frame as sent: text, or the bytes of a binary frame (which must be UTF-8 JSON)."""
    if not isinstance(body, str):
        return None
    if not is_base64:
        return body
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMessage("the message is not valid JSON: a binary frame that is not base64") from None


def _dispatch(
    action: ClientAction, connection: Connection, hub: Hub, verifier: Verifier, context: Any
) -> tuple[dict[str, Any], FollowUp]:
    """The reply to send, and what to do once it is sent (a resume's replay)."""
    then: FollowUp = None
    identity = connection.identity
    request_id = action.request_id
    match action:
        case Subscribe(group=group, since=since, epoch=epoch):
            subscription = hub.subscriptions.subscribe(connection, group, since=since, epoch=epoch)
            reply = Subscribed(
                group=group,
                seq=subscription.seq,
                epoch=subscription.epoch,
                recovered=subscription.recovered,
                request_id=request_id,
            ).frame()
            if subscription.recovered and since is not None:
                then = partial(hub.subscriptions.replay, connection, group, since, subscription.replay_bytes)
        case Unsubscribe(group=group):
            hub.subscriptions.unsubscribe(connection, group)
            reply = Unsubscribed(group=group, request_id=request_id).frame()
        case GetPlatformStats():
            counts, latest = hub.queries.snapshot(identity)
            snapshot = PlatformSnapshot(connections=counts.connections, groups=counts.groups, latest=latest)
            reply = PlatformStats(data=snapshot, request_id=request_id).frame()
        case GetConnectionCount():
            counts = hub.queries.counts(identity)
            reply = ConnectionCount.model_validate({"data": counts.model_dump(), "requestId": request_id}).frame()
        case GetPresence(group=group):
            presence = hub.queries.presence(identity, group, with_user_ids=True)
            reply = PresenceReply.model_validate({"data": presence.to_dict(), "requestId": request_id}).frame()
        case Publish():
            request = PublishRequest(group=action.group, user_id=action.user_id, type=action.type, data=action.data)
            result = hub.publishing.publish_once("websocket", action.idempotency_key, identity, request, context)
            fields = {k: v for k, v in result.model_dump(mode="json", by_alias=True).items() if k != "type"}
            reply = Published.model_validate({**fields, "eventType": action.type, "requestId": request_id}).frame()
        case Ping():
            reply = Pong(request_id=request_id).frame()
        case Refresh(token=token):
            updated, left = hub.connections.refresh(connection, verifier.verify(token))
            expires = iso_utc(updated.token_expires_at) if updated.token_expires_at else ""
            reply = Refreshed(expires_at=expires, unsubscribed=left or None, request_id=request_id).frame()
    return reply, then
