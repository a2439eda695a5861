"""What the e2e tests share: tokens, REST calls, signed @connections calls, the admin
tooling routes, and clients that are always closed."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import socket
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from local.emulated import lambdas
from local.runner.settings import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from local.tools.client import RealtimeClient, socket_url
from local.tools.tokens import mint_token
from tests.local_deployment import ObservedDeployment

TIMEOUT = 5.0


def token(sub: str = "alice", roles: tuple[str, ...] = ("admin",), **options: Any) -> str:
    return mint_token(sub, roles, **options)


Invocations = list[tuple[str, dict[str, Any]]]


def record_invocations(monkeypatch: pytest.MonkeyPatch) -> Invocations:
    """From now on, record every function invocation of the stack: (function, event)."""
    recorded: Invocations = []
    lock = threading.Lock()
    real_invoke = lambdas.invoke

    def recording_invoke(name: str, event: dict[str, Any]) -> Any:
        with lock:
            recorded.append((name, copy.deepcopy(event)))
        return real_invoke(name, event)

    monkeypatch.setattr(lambdas, "invoke", recording_invoke)
    return recorded


def bearer(jwt: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {jwt}"}


def rest(stack: ObservedDeployment, jwt: str | None = None) -> httpx.AsyncClient:
    """An HTTP client for the REST API, authenticated as an admin unless told otherwise."""
    headers = bearer(jwt if jwt is not None else token("backend"))
    return httpx.AsyncClient(base_url=stack.rest_url, headers=headers, timeout=TIMEOUT)


def tooling(stack: ObservedDeployment, jwt: str | None = None) -> httpx.AsyncClient:
    """An HTTP client for the stack's /_local/ routes, with an admin token unless told otherwise."""
    headers = bearer(jwt if jwt is not None else token("ops"))
    return httpx.AsyncClient(base_url=stack.base_url, headers=headers, timeout=TIMEOUT)


def management_client(
    stack: ObservedDeployment, *, access_key: str = LOCAL_ACCESS_KEY_ID, secret_key: str = LOCAL_SECRET_ACCESS_KEY
) -> Any:
    """boto3's `apigatewaymanagementapi` client on the local @connections API (it signs,
    with the local credentials unless told otherwise)."""
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=stack.base_url,
        region_name=LOCAL_REGION,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
    )


def signed_request(
    stack: ObservedDeployment,
    method: str,
    connection_id: str,
    body: bytes = b"",
    *,
    secret_key: str = LOCAL_SECRET_ACCESS_KEY,
    signed_at: datetime | None = None,
) -> httpx.Request:
    """A `@connections/{id}` request SigV4-signed with botocore, as of `signed_at` (now by default)."""
    url = f"{stack.base_url}/@connections/{connection_id}"
    request = AWSRequest(method=method, url=url, data=body)
    timestamp = (signed_at or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    request.context["timestamp"] = timestamp
    request.headers["X-Amz-Date"] = timestamp
    signer = SigV4Auth(Credentials(LOCAL_ACCESS_KEY_ID, secret_key), "execute-api", LOCAL_REGION)
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, "
        f"SignedHeaders={signer.signed_headers(signer.headers_to_sign(request))}, Signature={signature}"
    )
    return httpx.Request(method, url, content=body, headers={"X-Amz-Date": timestamp, "Authorization": authorization})


class RawWebSocket:
    """A WebSocket client on a plain socket that reads only when told to, with a small
    receive buffer (set before connecting, so the TCP window stays that small): what a
    stalled browser tab looks like to the server."""

    def __init__(self, sock: socket.socket, protocol: ClientProtocol, user_agent: str) -> None:
        self._sock = sock
        self._protocol = protocol
        self.user_agent = user_agent
        self._frames: deque[Frame] = deque()
        self.close_code: int | None = None

    @classmethod
    async def open(
        cls, stack: ObservedDeployment, jwt: str | None = None, *, receive_buffer: int = 4096
    ) -> RawWebSocket:
        uri = parse_uri(socket_url(stack.ws_url, jwt if jwt is not None else token()))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        user_agent = f"e2e-raw-{uuid.uuid4().hex}"
        protocol = ClientProtocol(uri, max_size=None)
        request = protocol.connect()
        request.headers["User-Agent"] = user_agent
        client = cls(sock, protocol, user_agent)
        try:
            async with asyncio.timeout(TIMEOUT):
                await asyncio.get_running_loop().sock_connect(sock, (uri.host, uri.port))
                protocol.send_request(request)
                await client._flush()
                while protocol.state is State.CONNECTING:
                    await client._read(65536)
        except BaseException:
            sock.close()
            raise
        if protocol.handshake_exc is not None:
            sock.close()
            raise protocol.handshake_exc
        return client

    async def send(self, message: dict[str, Any]) -> None:
        self._protocol.send_text(json.dumps(message).encode())
        await self._flush()

    async def request(self, message: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
        await self.send(message)
        return await self.receive(timeout)

    async def receive(self, timeout: float = TIMEOUT, *, chunk: int = 65536, pause: float = 0.0) -> dict[str, Any]:
        """The next text frame as JSON, reading `chunk` bytes at a time with `pause`
        seconds between reads (a slow reader)."""
        async with asyncio.timeout(timeout):
            while True:
                while self._frames:
                    frame = self._frames.popleft()
                    if frame.opcode is Opcode.TEXT:
                        message: dict[str, Any] = json.loads(bytes(frame.data))
                        return message
                if self._protocol.state is State.CLOSED:
                    raise ConnectionError(f"closed by the server with {self.close_code}")
                if pause:
                    await asyncio.sleep(pause)
                await self._read(chunk)

    async def expect_silence(self, within: float = 0.3) -> None:
        try:
            frame = await self.receive(within)
        except TimeoutError:
            return
        raise AssertionError(f"expected no frame, got {frame!r:.200}")

    async def wait_closed(self, timeout: float = TIMEOUT) -> int | None:
        """Read (and drop) frames until the server closes; return its close code."""
        async with asyncio.timeout(timeout):
            while self._protocol.state is not State.CLOSED:
                await self._read(65536)
        return self.close_code

    async def close(self) -> None:
        with contextlib.suppress(OSError, TimeoutError):
            if self._protocol.state is State.OPEN:
                self._protocol.send_close(1000)
                await self._flush()
            await self.wait_closed(2.0)
        self._sock.close()

    async def _read(self, size: int) -> None:
        try:
            data = await asyncio.get_running_loop().sock_recv(self._sock, size)
        except ConnectionResetError:  # aborted by the server
            data = b""
        if data:
            self._protocol.receive_data(data)
        else:
            self._protocol.receive_eof()
        for event in self._protocol.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.CLOSE and self._protocol.close_rcvd is not None:
                    self.close_code = self._protocol.close_rcvd.code
                self._frames.append(event)
        await self._flush()  # pongs and the close reply

    async def _flush(self) -> None:
        for data in self._protocol.data_to_send():
            if data:
                await asyncio.get_running_loop().sock_sendall(self._sock, data)
            else:  # end of stream
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_WR)

    async def __aenter__(self) -> RawWebSocket:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()


class Clients:
    """Opens dashboards against the stack; closes every one on exit, even when a test fails."""

    def __init__(self, stack: ObservedDeployment) -> None:
        self.stack = stack
        self._open: list[RealtimeClient] = []

    async def open(self, jwt: str | None = None, *, headers: dict[str, str] | None = None) -> RealtimeClient:
        client = await RealtimeClient.open(
            self.stack.ws_url,
            jwt if jwt is not None else token(),
            user_agent=f"e2e-{uuid.uuid4().hex}",
            headers=headers,
            timeout=TIMEOUT,
        )
        self._open.append(client)
        return client

    async def open_many(self, count: int, jwt: str | None = None) -> list[RealtimeClient]:
        return list(await asyncio.gather(*(self.open(jwt) for _ in range(count))))

    def connection_id(self, client: RealtimeClient) -> str:
        assert client.user_agent is not None
        info = self.stack.find_connection(client.user_agent)
        assert info is not None, "the stack does not know this client"
        return info.connection_id

    async def close(self, client: RealtimeClient) -> None:
        """Close one client and wait until its $disconnect has run."""
        connection_id = self.connection_id(client)
        await client.close()
        await asyncio.to_thread(self.stack.wait_gone, connection_id)

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await asyncio.gather(*(client.close() for client in self._open), return_exceptions=True)


def includes(actual: dict[str, Any], expected: dict[str, Any]) -> bool:
    """Whether `actual` has every key of `expected` with the same value (replies may grow)."""
    return all(key in actual and actual[key] == value for key, value in expected.items())


async def connection_count(client: RealtimeClient) -> dict[str, Any]:
    """The exact counts: {"connections": n, "groups": {group: members}}."""
    reply = await client.request({"action": "getConnectionCount"})
    assert reply["type"] == "ConnectionCount", reply
    return {"connections": reply["data"]["connections"], "groups": reply["data"]["groups"]}


async def subscribe(client: RealtimeClient, group: str) -> int:
    """Join `group`; return its last seq."""
    reply = await client.request({"action": "subscribe", "group": group})
    assert reply["type"] == "Subscribed" and reply["group"] == group, reply
    seq: int = reply["seq"]
    return seq


@contextlib.contextmanager
def deployed_with(stack: ObservedDeployment, **environment: str) -> Iterator[None]:
    """Redeploy the functions with `environment` for the block, then as they were (a
    variable that was unset is set empty, which the settings read as unset)."""
    before = {name: os.environ.get(name, "") for name in environment}
    stack.redeploy(environment)
    try:
        yield
    finally:
        stack.redeploy(before)
