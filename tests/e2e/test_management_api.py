"""The @connections Management API, driven with boto3's own client as the functions do,
and its SigV4 check: unsigned or wrongly signed calls are refused as API Gateway refuses them."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from realtime.config import MAX_MESSAGE_BYTES
from tests.e2e.support import TIMEOUT, Clients, connection_count, management_client, signed_request
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

UNKNOWN_ID = "AAAAAAAAAAAAAAA="


SIGNATURE_MISMATCH = "The request signature we calculated does not match the signature you provided."


@pytest.fixture(scope="module")
def management(stack: ObservedDeployment) -> Any:
    return management_client(stack)


async def send(request: httpx.Request) -> httpx.Response:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        return await http.send(request)


def with_signature_of(signed: httpx.Request, *, url: Any = None, content: bytes | None = None) -> httpx.Request:
    """Another request carrying `signed`'s signature: a replay to another URL or with another body."""
    headers = {name: signed.headers[name] for name in ("Authorization", "X-Amz-Date")}
    return httpx.Request(
        signed.method, url or signed.url, content=signed.content if content is None else content, headers=headers
    )


def assert_refused(response: httpx.Response, error_type: str, message: str) -> None:
    """A 403 as API Gateway answers it: the error type in x-amzn-ErrorType, {"message"}."""
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-ErrorType"] == error_type
    assert response.json()["message"].startswith(message), response.text


async def test_post_to_connection_delivers_one_text_frame(stack: ObservedDeployment, management: Any) -> None:
    async with Clients(stack) as clients:
        target, other = await clients.open_many(2)
        payload = {"type": "Direct", "data": {"hello": "world"}}
        response = await asyncio.to_thread(
            management.post_to_connection,
            ConnectionId=clients.connection_id(target),
            Data=json.dumps(payload).encode(),
        )
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
        frame = await asyncio.wait_for(target.connection.recv(), 5)
        assert isinstance(frame, str) and json.loads(frame) == payload
        await other.expect_silence(0.1)


async def test_get_connection_describes_it(stack: ObservedDeployment, management: Any) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        await client.request({"action": "ping"})
        description = await asyncio.to_thread(management.get_connection, ConnectionId=clients.connection_id(client))
    now = datetime.now(UTC)
    assert now - timedelta(seconds=30) < description["ConnectedAt"] <= description["LastActiveAt"] <= now
    assert description["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": client.user_agent}


async def test_delete_connection_closes_the_socket_and_runs_disconnect(
    stack: ObservedDeployment, management: Any
) -> None:
    async with Clients(stack) as clients:
        doomed, witness = await clients.open_many(2)
        connection_id = clients.connection_id(doomed)
        response = await asyncio.to_thread(management.delete_connection, ConnectionId=connection_id)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
        assert await doomed.wait_closed() == 1000
        await asyncio.to_thread(stack.wait_gone, connection_id)
        assert (await connection_count(witness))["connections"] == 1
        with pytest.raises(management.exceptions.GoneException):
            await asyncio.to_thread(management.post_to_connection, ConnectionId=connection_id, Data=b"{}")


@pytest.mark.parametrize("operation", ["post_to_connection", "get_connection", "delete_connection"])
def test_an_unknown_connection_is_gone(management: Any, operation: str) -> None:
    arguments: dict[str, Any] = {"ConnectionId": UNKNOWN_ID}
    if operation == "post_to_connection":
        arguments["Data"] = b"{}"
    with pytest.raises(management.exceptions.GoneException) as gone:
        getattr(management, operation)(**arguments)
    assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


async def test_posting_over_128_kb_is_refused(stack: ObservedDeployment, management: Any) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        connection_id = clients.connection_id(client)
        with pytest.raises(management.exceptions.PayloadTooLargeException):
            await asyncio.to_thread(
                management.post_to_connection, ConnectionId=connection_id, Data=b"x" * (MAX_MESSAGE_BYTES + 1)
            )
        await asyncio.to_thread(
            management.post_to_connection, ConnectionId=connection_id, Data=b"y" * MAX_MESSAGE_BYTES
        )
        assert await asyncio.wait_for(client.connection.recv(), 5) == "y" * MAX_MESSAGE_BYTES


# -- SigV4 ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
async def test_an_unsigned_call_is_refused_403(stack: ObservedDeployment, method: str) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        url = f"{stack.base_url}/@connections/{clients.connection_id(client)}"
        response = await send(httpx.Request(method, url, content=b'{"unsigned":true}' if method == "POST" else b""))
        assert_refused(response, "MissingAuthenticationTokenException", "Missing Authentication Token")
        assert response.json() == {"message": "Missing Authentication Token"}
        await client.expect_silence(0.2)  # neither delivered nor closed
        assert (await connection_count(client))["connections"] == 1


async def test_an_unsigned_call_to_an_unknown_connection_is_refused_before_it_is_found_gone(
    stack: ObservedDeployment,
) -> None:
    response = await send(httpx.Request("GET", f"{stack.base_url}/@connections/{UNKNOWN_ID}"))
    assert_refused(response, "MissingAuthenticationTokenException", "Missing Authentication Token")


async def test_a_tampered_signature_or_body_is_refused_403(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        connection_id = clients.connection_id(client)
        request = signed_request(stack, "POST", connection_id, b'{"n":1}')
        authorization = request.headers["Authorization"]
        request.headers["Authorization"] = authorization[:-1] + ("0" if authorization[-1] != "0" else "1")
        assert_refused(await send(request), "InvalidSignatureException", SIGNATURE_MISMATCH)

        genuine = signed_request(stack, "POST", connection_id, b'{"n":1}')
        assert_refused(
            await send(with_signature_of(genuine, content=b'{"n":2}')), "InvalidSignatureException", SIGNATURE_MISMATCH
        )

        signed_for_another = signed_request(stack, "POST", connection_id + "x", b'{"n":1}')
        assert_refused(
            await send(with_signature_of(signed_for_another, url=genuine.url)),
            "InvalidSignatureException",
            SIGNATURE_MISMATCH,
        )
        await client.expect_silence(0.2)


async def test_a_wrong_secret_is_refused_and_botocore_raises_a_client_error(stack: ObservedDeployment) -> None:
    wrong = management_client(stack, secret_key="not-the-local-secret")
    unknown = management_client(stack, access_key="AKIAUNKNOWN")
    async with Clients(stack) as clients:
        client = await clients.open()
        connection_id = clients.connection_id(client)
        with pytest.raises(ClientError) as refused:
            await asyncio.to_thread(wrong.post_to_connection, ConnectionId=connection_id, Data=b"{}")
        error = refused.value.response
        assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (
            403,
            "InvalidSignatureException",
        )
        assert error["Error"]["Message"].startswith(SIGNATURE_MISMATCH)
        with pytest.raises(ClientError) as refused:
            await asyncio.to_thread(unknown.get_connection, ConnectionId=connection_id)
        assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
        await client.expect_silence(0.2)


@pytest.mark.parametrize(
    ("skew", "message"),
    [(timedelta(minutes=-20), "Signature expired: "), (timedelta(minutes=20), "Signature not yet current: ")],
    ids=["stale", "future"],
)
async def test_a_signature_dated_more_than_15_minutes_off_is_refused(
    stack: ObservedDeployment, skew: timedelta, message: str
) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        request = signed_request(stack, "GET", clients.connection_id(client), signed_at=datetime.now(UTC) + skew)
        assert_refused(await send(request), "InvalidSignatureException", message)


async def test_correctly_signed_post_get_and_delete_work(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        connection_id = clients.connection_id(client)
        # Ten minutes ago is within API Gateway's tolerance.
        posted = await send(
            signed_request(
                stack, "POST", connection_id, b'{"n":1}', signed_at=datetime.now(UTC) - timedelta(minutes=10)
            )
        )
        assert posted.status_code == 200, posted.text
        assert await client.receive() == {"n": 1}
        described = await send(signed_request(stack, "GET", connection_id))
        assert described.status_code == 200 and described.json()["identity"]["userAgent"] == client.user_agent
        deleted = await send(signed_request(stack, "DELETE", connection_id))
        assert deleted.status_code == 204, deleted.text
        assert await client.wait_closed() == 1000


async def test_a_path_with_a_segment_after_the_id_is_no_such_resource(stack: ObservedDeployment) -> None:
    response = await send(httpx.Request("POST", f"{stack.base_url}/@connections/{UNKNOWN_ID}/more", content=b"x"))
    assert response.status_code == 404  # no route has it: not a call on a connection (403 or 410)


@pytest.mark.parametrize("method", ["HEAD", "PUT", "PATCH"])
async def test_a_signed_call_with_another_method_is_refused_and_leaves_the_connection_open(
    stack: ObservedDeployment, method: str
) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        connection_id = clients.connection_id(client)
        response = await send(signed_request(stack, method, connection_id, b'{"n":1}'))
        assert response.status_code == 405, response.text
        assert response.headers["Allow"] == "DELETE, GET, POST"
        if method != "HEAD":
            assert response.headers["x-amzn-ErrorType"] == "MethodNotAllowedException"
        await client.expect_silence(0.2)  # nothing sent, and not closed
        await client.request({"action": "ping"})
        described = await send(signed_request(stack, "GET", connection_id))
        assert described.status_code == 200, described.text
