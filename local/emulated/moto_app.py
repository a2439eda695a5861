"""moto's server application (DynamoDB and SQS) as an ASGI application, for the child
process local.emulated.moto_process serves it from.

moto's own server (werkzeug, one thread per request) does not suit a stack whose
functions call it concurrently: moto's backends are not thread-safe (a transaction
deep-copies the table while another request mutates it, then "rolls back" over the
other's write), and werkzeug closes the connection after every request. So moto's
application is served by uvicorn over keep-alive connections and runs on a single
worker thread: one request at a time, which is also what local.emulated.moto_speedups relies on.
The latency model and the DynamoDB throttling faults are applied here, before moto.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import EnvironBuilder, run_wsgi_app

from local.emulated.faults import FaultPlan
from local.emulated.latency import LatencyModel, Service

_Scope = dict[str, Any]


# The data-plane calls the functions make; table management is never throttled.
_DATA_CALLS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "BatchGetItem",
    "TransactWriteItems",
}
# A message sent to a queue: what ends a long poll in SQS (local.emulated.fanout_queue).
_SQS_SENDS = {"AmazonSQS.SendMessage", "AmazonSQS.SendMessageBatch"}
_THROTTLED = (
    b'{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",'
    b'"message":"The level of configured provisioned throughput for the table was exceeded (injected fault)"}'
)


class MotoApp:
    """moto's WSGI application as an ASGI one, running requests one at a time."""

    def __init__(self) -> None:
        self._wsgi = DomainDispatcherApplication(create_backend_app)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="moto")
        self.faults = FaultPlan()
        self.latency = LatencyModel()
        # Called (on this server's thread) once a SendMessage has been answered.
        self.on_sqs_send: Callable[[], None] | None = None

    async def __call__(self, scope: _Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        target = dict(scope["headers"]).get(b"x-amz-target", b"").decode("latin-1")
        # moto serves DynamoDB and SQS here; both speak JSON with X-Amz-Target.
        await self.latency.wait(Service.SQS if target.startswith("AmazonSQS.") else Service.DYNAMODB)
        if target.rpartition(".")[2] in _DATA_CALLS and self.faults.throttle_dynamodb():
            headers = [(b"content-type", b"application/x-amz-json-1.0"), (b"content-length", b"%d" % len(_THROTTLED))]
            await send({"type": "http.response.start", "status": 400, "headers": headers})
            await send({"type": "http.response.body", "body": _THROTTLED})
            return
        environ = EnvironBuilder(
            method=scope["method"],
            path=scope["path"],
            query_string=scope["query_string"].decode("latin-1"),
            headers=[(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]],
            data=bytes(body),
        ).get_environ()
        loop = asyncio.get_running_loop()
        status, headers, content = await loop.run_in_executor(self._worker, self._call, environ)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        if target in _SQS_SENDS and self.on_sqs_send is not None:
            self.on_sqs_send()

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        chunks, status, headers = run_wsgi_app(self._wsgi, environ, buffered=True)
        content = b"".join(chunks)
        raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
            if name.lower() not in {"content-length", "connection"}
        ]
        raw_headers.append((b"content-length", str(len(content)).encode()))
        return int(status.split(" ", 1)[0]), raw_headers, content

    def close(self) -> None:
        self._worker.shutdown(wait=True, cancel_futures=True)
