"""The emulator's routes: the WebSocket API, its @connections Management API and the
REST API, on one port (AWS serves them from three hostnames); and the EventBridge bus
(PutEvents, plus /_local/ routes to watch it and its dead-letter queue)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from local.connections import ConnectionRegistry
from local.event_bus import LocalEventBus
from local.events import Gateway
from local.lambdas import LambdaRuntime
from local.management_api import ManagementApi
from local.rest_gateway import RestGateway
from local.settings import EVENT_BUS_PATH, REST_BASE_PATH, WEBSOCKET_PATH
from local.websocket_gateway import WebSocketGateway

_HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def build_app(
    gateway: Gateway,
    runtime: LambdaRuntime,
    registry: ConnectionRegistry,
    management_api: ManagementApi,
    bus: LocalEventBus | None = None,
) -> Starlette:
    rest = RestGateway(gateway, runtime).handle
    bus_routes = (
        [
            # EventBridge's PutEvents (boto3 posts to the endpoint's path plus "/").
            Route(EVENT_BUS_PATH, bus.handle_put_events, methods=["POST"]),
            Route(EVENT_BUS_PATH + "/", bus.handle_put_events, methods=["POST"]),
            Route("/_local/events", bus.handle_local_events, methods=["GET", "POST"]),
            Route("/_local/dead-letters", bus.handle_dead_letters, methods=["GET"]),
        ]
        if bus is not None
        else []
    )
    return Starlette(
        routes=[
            *bus_routes,
            WebSocketRoute(WEBSOCKET_PATH, WebSocketGateway(gateway, runtime, registry).handle),
            Route(
                "/@connections/{connection_id}",
                management_api.handle,
                methods=["GET", "POST", "DELETE"],
            ),
            Route(REST_BASE_PATH, rest, methods=_HTTP_METHODS),
            Route(REST_BASE_PATH + "/{proxy:path}", rest, methods=_HTTP_METHODS),
        ]
    )
