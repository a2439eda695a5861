"""DynamoDB for the local stack: moto's server application in this process, with the
table the handlers expect (the same key schema and TTL attribute as the deployed one).

moto's own server (werkzeug, one thread per request) does not suit a stack whose
functions call it concurrently: moto's backends are not thread-safe (a transaction
deep-copies the table while another request mutates it, then "rolls back" over the
other's write), and werkzeug closes the connection after every request. So moto's
application is served by uvicorn over keep-alive connections and runs on a single
worker thread: one request at a time, which is also what local.emulated.moto_speedups relies on.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import uvicorn
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import EnvironBuilder, run_wsgi_app

from local.emulated import moto_speedups
from local.emulated.faults import FaultPlan
from local.emulated.latency import LatencyModel, Service
from local.runner.settings import LOCAL_REGION, LOCAL_TABLE_NAME
from realtime.adapters.dynamodb import PK, SK, TTL_ATTRIBUTE

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


class LocalDynamoDB:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._app: MotoApp | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""

    def start(self, timeout: float = 10.0) -> None:
        moto_speedups.install()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((self._host, 0))
        listener.listen(1024)
        self._app = MotoApp()
        config = uvicorn.Config(self._app, lifespan="off", access_log=False, log_level="warning")
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[listener]), name="local-dynamodb", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                listener.close()
                raise RuntimeError("moto's DynamoDB did not start")
            time.sleep(0.01)
        self.endpoint = f"http://{self._host}:{listener.getsockname()[1]}"

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._app is not None:
            self._app.close()
        self._server = self._thread = self._app = None

    def inject_faults(self, faults: FaultPlan) -> None:
        if self._app is not None:
            self._app.faults = faults

    def inject_latency(self, latency: LatencyModel) -> None:
        if self._app is not None:
            self._app.latency = latency

    def on_sqs_send(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each SendMessage (from moto's server thread)."""
        if self._app is not None:
            self._app.on_sqs_send = callback

    def client(self) -> Any:
        # moto accepts any credentials; these are placeholders, not secrets.
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=LOCAL_REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106
        )

    def create_table(self, name: str = LOCAL_TABLE_NAME) -> None:
        client = self.client()
        client.create_table(
            TableName=name,
            AttributeDefinitions=[
                {"AttributeName": PK, "AttributeType": "S"},
                {"AttributeName": SK, "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
        client.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
        )
