"""What the e2e tests share: tokens, REST calls, signed @connections calls, and clients
that are always closed."""

from __future__ import annotations

import asyncio
import copy
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from local import lambdas
from local.client import RealtimeClient
from local.server import LocalStack
from local.settings import LOCAL_ACCESS_KEY_ID, LOCAL_REGION, LOCAL_SECRET_ACCESS_KEY
from local.tokens import mint_token

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


def rest(stack: LocalStack, jwt: str | None = None) -> httpx.AsyncClient:
    """An HTTP client for the REST API, authenticated as an admin unless told otherwise."""
    headers = bearer(jwt if jwt is not None else token("backend"))
    return httpx.AsyncClient(base_url=stack.rest_url, headers=headers, timeout=TIMEOUT)


def management_client(
    stack: LocalStack, *, access_key: str = LOCAL_ACCESS_KEY_ID, secret_key: str = LOCAL_SECRET_ACCESS_KEY
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
    stack: LocalStack,
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


class Clients:
    """Opens dashboards against the stack; closes every one on exit, even when a test fails."""

    def __init__(self, stack: LocalStack) -> None:
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
