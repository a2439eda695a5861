"""The @connections Management API (PostToConnection, GetConnection, DeleteConnection)
on the wire as AWS serves it, so boto3's `apigatewaymanagementapi` client works unchanged
(SigV4 headers are accepted and ignored)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from local import access_log
from local.connections import ConnectionRegistry, LiveConnection
from local.events import now_ms
from local.faults import Fault, FaultPlan
from local.ids import rest_request_id
from realtime.config import MAX_MESSAGE_BYTES

# What the client sees when DeleteConnection closes its socket.
DELETED_CLOSE = (1000, "Connection deleted by the server")


class ManagementApi:
    def __init__(self, registry: ConnectionRegistry, faults: FaultPlan | None = None) -> None:
        self._registry = registry
        self.faults = faults or FaultPlan()

    async def handle(self, request: Request) -> Response:
        started = now_ms()
        connection_id = request.path_params["connection_id"]
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        fault = faults.draw() if request.method == "POST" else None
        if fault is Fault.GONE:
            await self._registry.vanish(connection_id)  # gone for good, and no $disconnect
        live = self._registry.get(connection_id)
        if live is None or live.closed_by_gateway is not None:
            response = _error(410, "GoneException", None)
        elif fault is Fault.THROTTLE:
            response = _error(429, "LimitExceededException", "Rate exceeded (injected fault)")
        elif request.method == "POST":
            response = await self._post(request, live)
        elif request.method == "GET":
            response = _json(200, _describe(live))
        else:
            await live.close(*DELETED_CLOSE)  # $disconnect follows, as in AWS
            response = Response(status_code=204, headers=_request_id_header())
        access_log.management(
            request.client.host if request.client else "127.0.0.1",
            request.method,
            connection_id,
            response.status_code,
            len(response.body),
            started,
        )
        return response

    async def _post(self, request: Request, live: LiveConnection) -> Response:
        payload = bytearray()
        async for chunk in request.stream():
            payload += chunk
            if len(payload) > MAX_MESSAGE_BYTES:
                return _error(
                    413,
                    "PayloadTooLargeException",
                    f"Message too long: the limit is {MAX_MESSAGE_BYTES} bytes",
                )
        if not await live.send(bytes(payload)):
            return _error(410, "GoneException", None)
        return Response(status_code=200, headers=_request_id_header())


def _describe(live: LiveConnection) -> dict[str, object]:
    return {
        "connectedAt": _iso(live.session.connected_at_ms),
        "lastActiveAt": _iso(live.last_active_ms),
        "identity": {"sourceIp": live.session.source_ip, "userAgent": live.session.user_agent},
    }


def _iso(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _request_id_header() -> dict[str, str]:
    return {"x-amzn-RequestId": rest_request_id()}


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={**_request_id_header(), **(headers or {})},
    )


def _error(status: int, error_type: str, message: str | None) -> Response:
    # botocore reads the error code from x-amzn-ErrorType (rest-json protocol).
    return _json(status, {"message": message}, {"x-amzn-ErrorType": error_type})
