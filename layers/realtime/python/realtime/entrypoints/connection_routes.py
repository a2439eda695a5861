"""The WebSocket's $connect and $disconnect routes. Apart from the client actions
(realtime.entrypoints.websocket), so that their functions never import the client protocol."""

from __future__ import annotations

from typing import Any

from realtime.bootstrap import Hub
from realtime.entrypoints.gateway_events import ConnectEvent, DisconnectEvent
from realtime.entrypoints.statuses import http_status
from realtime.errors import RealtimeError

OK = {"statusCode": 200}


def on_connect(event: dict[str, Any], hub: Hub) -> dict[str, Any]:
    parsed = ConnectEvent.model_validate(event)
    try:
        hub.connections.connect(parsed.request_context.connection_id, parsed.request_context.authorizer.identity)
    except RealtimeError as exc:
        return {"statusCode": http_status(exc)}
    return OK


def on_disconnect(event: dict[str, Any], hub: Hub) -> dict[str, Any]:
    parsed = DisconnectEvent.model_validate(event)
    hub.connections.disconnect(parsed.request_context.connection_id)
    hub.limiter.forget(parsed.request_context.connection_id)
    return OK
