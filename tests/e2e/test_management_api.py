"""The @connections Management API, driven with boto3's own client as the functions do."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from local.server import LocalStack
from realtime.config import MAX_MESSAGE_BYTES
from tests.e2e.support import Clients, connection_count

pytestmark = pytest.mark.e2e

UNKNOWN_ID = "AAAAAAAAAAAAAAA="


@pytest.fixture(scope="module")
def management(stack: LocalStack) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=stack.base_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


async def test_post_to_connection_delivers_one_text_frame(stack: LocalStack, management: Any) -> None:
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


async def test_get_connection_describes_it(stack: LocalStack, management: Any) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        await client.request({"action": "ping"})
        description = await asyncio.to_thread(management.get_connection, ConnectionId=clients.connection_id(client))
    now = datetime.now(UTC)
    assert now - timedelta(seconds=30) < description["ConnectedAt"] <= description["LastActiveAt"] <= now
    assert description["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": client.user_agent}


async def test_delete_connection_closes_the_socket_and_runs_disconnect(stack: LocalStack, management: Any) -> None:
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


async def test_posting_over_128_kb_is_refused(stack: LocalStack, management: Any) -> None:
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
