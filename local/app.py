"""The emulator's routes: the WebSocket API, its @connections Management API and the
REST API, on one port (AWS serves them from three hostnames)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from local.connections import ConnectionRegistry
from local.events import Gateway
from local.lambdas import LambdaRuntime
from local.management_api import ManagementApi
from local.rest_gateway import RestGateway
from local.settings import REST_BASE_PATH, WEBSOCKET_PATH
from local.websocket_gateway import WebSocketGateway

_HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def build_app(
    gateway: Gateway, runtime: LambdaRuntime, registry: ConnectionRegistry, management_api: ManagementApi
) -> Starlette:
    rest = RestGateway(gateway, runtime).handle
    return Starlette(
        routes=[
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
