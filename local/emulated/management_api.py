"""The @connections Management API (PostToConnection, GetConnection, DeleteConnection)
on the wire as AWS serves it, so boto3's `apigatewaymanagementapi` client works unchanged.

- Every call must be SigV4-signed with the local credentials (local/emulated/sigv4.py): unsigned
  or wrongly signed calls get API Gateway's 403s.
- POST queues the frame in the connection's outbound buffer and answers at once (never
  waiting for the client to read): 200, 429 `LimitExceededException` when that buffer is
  full, 410 when the connection is gone or closing (local/emulated/outbox.py).
- DELETE answers 204 at once; the frames already accepted are sent, then the close frame,
  and $disconnect follows, as in AWS.
- Any other method (HEAD, PUT, ...) is answered 405 before anything else is looked at: it
  never reads, sends to or closes the connection.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from local.emulated import access_log
from local.emulated.connections import ConnectionRegistry, LiveConnection
from local.emulated.faults import Fault, FaultPlan
from local.emulated.gateway_requests import now_ms
from local.emulated.ids import rest_request_id
from local.emulated.latency import LatencyModel, Service
from local.emulated.outbox import Offer
from local.emulated.sigv4 import SigV4Verifier
from local.runner.settings import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from realtime.config import MAX_MESSAGE_BYTES

# PostToConnection, GetConnection, DeleteConnection.
METHODS = frozenset({"POST", "GET", "DELETE"})
# What the client sees when DeleteConnection closes its socket.
DELETED_CLOSE = (1000, "Connection deleted by the server")
# A body this large is refused before its signature is even checked (API Gateway's 10 MB
# payload limit); the 128 KB message limit is checked once the caller is authenticated.
_MAX_READ_BYTES = 10 * 1024 * 1024


class ManagementApi:
    def __init__(
        self,
        registry: ConnectionRegistry,
        faults: FaultPlan | None = None,
        verifier: SigV4Verifier | None = None,
    ) -> None:
        self._registry = registry
        self.faults = faults or FaultPlan()
        self.latency = LatencyModel()
        self.verifier = verifier or SigV4Verifier(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY, LOCAL_REGION)
        self._closing: set[asyncio.Task[None]] = set()

    async def respond(self, request: Request, connection_id: str) -> Response:
        """The answer to one call on `connection_id` (from the path, percent-decoded)."""
        started = now_ms()
        response = await self._respond(request, connection_id)
        access_log.management(
            request.client.host if request.client else "127.0.0.1",
            request.method,
            connection_id,
            response.status_code,
            len(response.body),
            started,
        )
        return response

    async def _respond(self, request: Request, connection_id: str) -> Response:
        if request.method not in METHODS:
            return _not_allowed(request.method)
        body = await _read_body(request)
        if body is None:
            return _too_large()
        refusal = self.verifier.verify(
            request.method,
            request.scope["raw_path"].decode("latin-1"),  # as signed: still percent-encoded
            request.scope["query_string"].decode("latin-1"),
            [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw],
            body,
        )
        if refusal is not None:
            return _error(refusal.status, refusal.error_type, refusal.message)
        await self.latency.wait(Service.CONNECTIONS)
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        fault = faults.draw() if request.method == "POST" else None
        if fault is Fault.GONE:
            await self._registry.vanish(connection_id)  # gone for good, and no $disconnect
        live = self._registry.get(connection_id)
        if live is None or live.closed_by_gateway is not None:
            return _error(410, "GoneException", None)
        if fault is Fault.THROTTLE:
            return _error(429, "LimitExceededException", "Rate exceeded (injected fault)")
        if request.method == "POST":
            return self._post(body, live)
        if request.method == "GET":
            return _json(200, _describe(live))
        return self._delete(live)

    def _delete(self, live: LiveConnection) -> Response:
        # The socket closes in the background, after the frames already accepted; the
        # connection is gone for callers from now on ($disconnect follows, as in AWS).
        task = asyncio.get_running_loop().create_task(live.close(*DELETED_CLOSE))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        return Response(status_code=204, headers=_request_id_header())

    def _post(self, payload: bytes, live: LiveConnection) -> Response:
        if len(payload) > MAX_MESSAGE_BYTES:
            return _too_large()
        outcome = live.send(payload)
        if outcome is Offer.FULL:
            return _error(429, "LimitExceededException", "The WebSocket client side buffer is full")
        if outcome is Offer.CLOSED:
            return _error(410, "GoneException", None)
        return Response(status_code=200, headers=_request_id_header())


async def _read_body(request: Request) -> bytes | None:
    """The body, or None when it is over _MAX_READ_BYTES (then not read to its end)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_READ_BYTES:
            return None
    return bytes(body)


def _too_large() -> Response:
    return _error(413, "PayloadTooLargeException", f"Message too long: the limit is {MAX_MESSAGE_BYTES} bytes")


def _not_allowed(method: str) -> Response:
    response = _error(405, "MethodNotAllowedException", f"{method} is not a method of @connections")
    response.headers["Allow"] = ", ".join(sorted(METHODS))
    return response


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
