"""The WebSocket API: handshake (authorizer, then $connect), one MESSAGE invocation per
frame, and $disconnect when the socket closes, the way API Gateway sequences them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from local.emulated import access_log
from local.emulated.authorizer_policy import InvalidAuthorizerResponse, evaluate
from local.emulated.connections import ConnectionRegistry, LiveConnection
from local.emulated.gateway_requests import (
    Gateway,
    HttpRequest,
    Session,
    authorizer_event,
    connect_event,
    disconnect_event,
    message_event,
    now_ms,
)
from local.emulated.lambdas import LambdaRuntime
from local.runner.settings import WEBSOCKET_AUTHORIZER_IDENTITY_SOURCE

logger = logging.getLogger("local.websocket")

# The bodies API Gateway answers a refused handshake with.
_REFUSALS = {401: "Unauthorized", 403: "Forbidden", 500: "Internal server error"}
_CLOSED_ABNORMALLY = (1006, "Connection closed abnormally (no close frame)")
_Frame = str | bytes


class WebSocketGateway:
    def __init__(self, gateway: Gateway, runtime: LambdaRuntime, registry: ConnectionRegistry) -> None:
        self._gateway = gateway
        self._runtime = runtime
        self._registry = registry

    async def handle(self, websocket: WebSocket) -> None:
        connection_id = self._registry.new_connection_id()
        self._registry.sessions.add(connection_id)
        try:
            await self._serve(websocket, connection_id)
        except asyncio.CancelledError:
            # Only a shutdown that outlasts its grace period cancels a session. Ending
            # quietly spares a traceback per socket; AWS would still have run $disconnect.
            logger.warning("shutdown: the $disconnect of %s did not run", connection_id)
        finally:
            self._registry.sessions.discard(connection_id)

    async def _serve(self, websocket: WebSocket, connection_id: str) -> None:
        request = HttpRequest.from_asgi(
            websocket.headers.raw,
            websocket.query_params.multi_items(),
            websocket.client.host if websocket.client else "127.0.0.1",
        )
        session = Session(
            connection_id=connection_id,
            connected_at_ms=now_ms(),
            source_ip=request.source_ip,
            user_agent=request.user_agent,
        )
        status = await self._handshake(session, request)
        access_log.websocket(session.source_ip, "$connect", status, session.connection_id, session.connected_at_ms)
        if status != 200:
            message = _REFUSALS.get(status, "Connection refused")
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):  # the client left already
                await websocket.send_denial_response(JSONResponse({"message": message}, status_code=status))
            return
        try:
            await websocket.accept()
        except (WebSocketDisconnect, RuntimeError, OSError):
            # $connect has recorded the connection, so AWS would still run $disconnect.
            await self._disconnect(session, *_CLOSED_ABNORMALLY)
            return
        live = LiveConnection(session, websocket)
        self._registry.add(live)
        try:
            code, reason = await self._pump(live)
        except Exception:
            logger.exception("the connection failed")
            code, reason = _CLOSED_ABNORMALLY
        finally:
            self._registry.remove(session.connection_id)
            live.closed()
        if not live.vanished:
            await self._disconnect(session, code, reason)

    async def _handshake(self, session: Session, request: HttpRequest) -> int:
        """The HTTP status of the upgrade: 200 when both the authorizer and $connect agree."""
        if not _has_identity_source(request):
            return 401  # API Gateway does not even invoke the authorizer
        started = time.perf_counter()
        try:
            response = await self._runtime.invoke("authorizer", authorizer_event(self._gateway, session, request))
        except Exception as exc:
            if str(exc) == "Unauthorized":
                return 401
            logger.exception("the authorizer failed")
            return 500
        try:
            decision = evaluate(response, self._gateway.route_arn("$connect"))
        except InvalidAuthorizerResponse:
            logger.exception("the authorizer's response is invalid")
            return 500
        if not decision.allowed:
            return 403
        session.authorizer = {
            **decision.context,
            "principalId": decision.principal_id,
            "integrationLatency": int((time.perf_counter() - started) * 1000),
        }
        try:
            result = await self._runtime.invoke("connect", connect_event(self._gateway, session, request))
        except Exception:
            logger.exception("$connect failed")
            return 500
        status = _status_code(result)
        return 200 if 200 <= status < 300 else status

    async def _pump(self, live: LiveConnection) -> tuple[int, str]:
        """Read frames until the socket closes; return the close status and reason. A worker
        invokes the message route for one frame at a time, in order, while reading goes on
        (so a close is seen even while a slow invocation runs)."""
        inbox: asyncio.Queue[_Frame | None] = asyncio.Queue()
        worker = asyncio.create_task(self._process(live, inbox))
        try:
            status = await self._read(live, inbox)
        except BaseException:
            worker.cancel()
            raise
        live.closed()  # from now on a POST to it is answered 410, as in AWS
        inbox.put_nowait(None)  # frames already read are still processed, then $disconnect
        await worker
        return status

    async def _read(self, live: LiveConnection, inbox: asyncio.Queue[_Frame | None]) -> tuple[int, str]:
        while True:
            message = await live.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return _close_status(live, message)
            frame: _Frame | None = message.get("text")
            if frame is None:
                frame = message.get("bytes")
            if frame is not None:
                live.touch()
                inbox.put_nowait(frame)

    async def _process(self, live: LiveConnection, inbox: asyncio.Queue[_Frame | None]) -> None:
        while (frame := await inbox.get()) is not None:
            await self._message(live, frame)

    async def _message(self, live: LiveConnection, frame: _Frame) -> None:
        started = now_ms()
        event = message_event(self._gateway, live.session, frame)
        context = event["requestContext"]
        try:
            status = _status_code(await self._runtime.invoke("message", event))
        except Exception:
            logger.exception("the message route failed")
            status = 500
            # What API Gateway sends the client when the integration fails.
            error = {"message": "Internal server error", "connectionId": live.connection_id}
            live.send(json.dumps({**error, "requestId": context["requestId"]}).encode())
        access_log.websocket(live.session.source_ip, context["routeKey"], status, live.connection_id, started)

    async def _disconnect(self, session: Session, code: int, reason: str) -> None:
        started = now_ms()
        try:
            status = _status_code(
                await self._runtime.invoke("disconnect", disconnect_event(self._gateway, session, code, reason))
            )
        except Exception:
            logger.exception("$disconnect failed")
            status = 500
        access_log.websocket(
            session.source_ip, "$disconnect", status, session.connection_id, started, f"closeCode={code}"
        )


def _has_identity_source(request: HttpRequest) -> bool:
    """Whether the authorizer's identity source (route.request.querystring.<name> or
    route.request.header.<name>) is present and not empty."""
    kind, _, name = WEBSOCKET_AUTHORIZER_IDENTITY_SOURCE.removeprefix("route.request.").partition(".")
    if kind == "querystring":
        return any(key == name and value for key, value in request.query)
    return any(key.lower() == name.lower() and value for key, value in request.headers)


def _status_code(result: Any) -> int:
    """A WebSocket route's answer: its statusCode, or 200 when it returned none."""
    status = result.get("statusCode", 200) if isinstance(result, dict) else 200
    return status if isinstance(status, int) else 500


def _close_status(live: LiveConnection, message: Mapping[str, Any]) -> tuple[int, str]:
    """disconnectStatusCode and disconnectReason, as AWS words them."""
    if live.closed_by_gateway is not None:
        return live.closed_by_gateway
    code = int(message.get("code") or 1005)
    # Uvicorn reports a socket lost without a close frame with no reason at all.
    if "reason" not in message or code == 1006:
        return _CLOSED_ABNORMALLY
    if code == 1009:
        return 1009, "Message too big"
    return code, f"Client-side close frame status code '{code}' and reason '{message.get('reason') or ''}'"
