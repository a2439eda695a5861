"""The emulator's routes: the WebSocket API, its @connections Management API, the REST API
(bearer-token and IAM routes) and Cognito's token endpoint for services (client
credentials), on one port (AWS serves them from four hostnames); and the EventBridge bus
(PutEvents, plus /_local/ routes to watch it and its dead-letter queue).

The admin dashboard (local/runner/dashboard.py), when given, is served at `/` after every other
route but the last, which answers any other path as API Gateway's REST API does (404, JSON).

The /_local/ routes are tooling with no AWS counterpart, and they list every connection
and user id on the bus: they require an admin bearer token, verified like the functions
verify theirs (401 without a valid token, 403 without the admin role).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from local.emulated.connections import ConnectionRegistry
from local.emulated.event_bus import LocalEventBus
from local.emulated.gateway_requests import Gateway
from local.emulated.lambdas import LambdaRuntime
from local.emulated.management_api import ManagementApi
from local.emulated.rest_gateway import RestGateway
from local.emulated.sigv4 import SigV4Verifier
from local.emulated.token_endpoint import TokenEndpoint
from local.emulated.websocket_gateway import WebSocketGateway
from local.runner.settings import (
    EVENT_BUS_PATH,
    LOCAL_ADMIN_ROLE,
    LOCAL_IAM_PRINCIPAL,
    LOCAL_SERVICE_CLIENT_ID,
    LOCAL_SERVICE_CLIENT_SECRET,
    LOCAL_SERVICE_SCOPES,
    LOCAL_TOKEN_PATH,
    LOCAL_TOOLING_PATH,
    REST_BASE_PATH,
    WEBSOCKET_PATH,
)
from realtime.auth import TokenVerifier, bearer_token
from realtime.entrypoints.statuses import http_status
from realtime.errors import Forbidden, Unauthorized

_HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


Handler = Callable[[Request], Awaitable[Response]]


class _ConnectionsFirst:
    """@connections calls go straight to the Management API, the rest to the app: every
    delivery of a fan-out is one of them, and starlette's middleware and routing around
    it were ~40 % of the emulator's CPU per delivery. A path the route would not match
    (no id, or another segment after it) takes the app and gets its 404; every method of
    a matching path is the Management API's to answer (405 for all but GET/POST/DELETE)."""

    def __init__(self, app: Starlette, management_api: ManagementApi) -> None:
        self.app = app
        self._management_api = management_api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            connection_id = _connection_id(scope["path"])
            if connection_id:
                response = await self._management_api.respond(Request(scope, receive), connection_id)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


_CONNECTIONS_PREFIX = "/@connections/"


def _connection_id(path: str) -> str:
    """The {connection_id} of an @connections path (one non-empty segment), else ""."""
    if not path.startswith(_CONNECTIONS_PREFIX):
        return ""
    connection_id = path[len(_CONNECTIONS_PREFIX) :]
    return "" if "/" in connection_id else connection_id


def build_app(
    gateway: Gateway,
    runtime: LambdaRuntime,
    registry: ConnectionRegistry,
    management_api: ManagementApi,
    bus: LocalEventBus | None = None,
    *,
    iam_verifier: SigV4Verifier,
    admin_verifier: TokenVerifier | None = None,
    dashboard: list[BaseRoute] | None = None,
) -> ASGIApp:
    from realtime.entrypoints.rest import IAM_BASE_PATH  # after the stack's environment is set

    rest = RestGateway(gateway, runtime, iam_verifier=iam_verifier, iam_principal=LOCAL_IAM_PRINCIPAL).handle
    tokens = TokenEndpoint(LOCAL_SERVICE_CLIENT_ID, LOCAL_SERVICE_CLIENT_SECRET, LOCAL_SERVICE_SCOPES)
    bus_routes = []
    if bus is not None:
        if admin_verifier is None:
            raise ValueError(f"the {LOCAL_TOOLING_PATH}/ routes need an admin_verifier")
        admin = _admin_only(admin_verifier)
        bus_routes = [
            # EventBridge's PutEvents (boto3 posts to the endpoint's path plus "/").
            Route(EVENT_BUS_PATH, bus.handle_put_events, methods=["POST"]),
            Route(EVENT_BUS_PATH + "/", bus.handle_put_events, methods=["POST"]),
            Route(f"{LOCAL_TOOLING_PATH}/events", admin(bus.handle_local_events), methods=["GET", "POST"]),
            Route(f"{LOCAL_TOOLING_PATH}/dead-letters", admin(bus.handle_dead_letters), methods=["GET"]),
        ]
    app = Starlette(
        routes=[
            *bus_routes,
            WebSocketRoute(WEBSOCKET_PATH, WebSocketGateway(gateway, runtime, registry).handle),
            Route(REST_BASE_PATH, rest, methods=_HTTP_METHODS),
            Route(REST_BASE_PATH + "/{proxy:anything}", rest, methods=_HTTP_METHODS),
            Route(IAM_BASE_PATH + "/{proxy:anything}", rest, methods=_HTTP_METHODS),
            Route(LOCAL_TOKEN_PATH, tokens.handle, methods=["POST"]),
            *(dashboard or []),
        ],
        # A path no route has is API Gateway's "no such resource" (404, JSON), not
        # starlette's plain-text one. (A route with the path but not the method still
        # answers 405: a catch-all route would take those too.)
        exception_handlers={404: _no_such_route(rest)},
    )
    return _ConnectionsFirst(app, management_api)


def _no_such_route(rest: Handler) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def answer(request: Request, _exc: Exception) -> Response:
        return await rest(request)

    return answer


class _Anything(Convertor[str]):
    """A path of any characters, newlines included (starlette's `path` stops at one):
    API Gateway's {proxy+} takes them all."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anything", _Anything())


def _admin_only(verifier: TokenVerifier) -> Callable[[Handler], Handler]:
    def guard(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            try:
                # HS256 locally: verifying is a few microseconds, fine on the event loop.
                verifier.require(bearer_token(request.headers.get("authorization")), LOCAL_ADMIN_ROLE)
            except Unauthorized as refused:
                return _refusal(refused, {"WWW-Authenticate": "Bearer"})
            except Forbidden as refused:
                return _refusal(refused)
            return await handler(request)

        return guarded

    return guard


def _refusal(error: Unauthorized | Forbidden, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"code": error.code, "message": error.message}, status_code=http_status(error), headers=headers)
