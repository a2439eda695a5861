"""A client that reads slowly, or not at all, never holds up a publish: @connections takes
each frame into the connection's outbound buffer and answers at once (200), or 429 when
that buffer is full, as API Gateway does (local/emulated/outbox.py). The publish's counts are then
the truth: what it counts as delivered is exactly what the client receives, in order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.emulated.outbox import MAX_QUEUED_BYTES
from tests.e2e.support import RawWebSocket, management_client, rest
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

GROUP = "user-activity"


def id_of(stack: ObservedDeployment, client: RawWebSocket) -> str:
    info = stack.find_connection(client.user_agent)
    assert info is not None, "the stack does not know this client"
    return info.connection_id


async def post(management: Any, connection_id: str, data: bytes) -> None:
    await asyncio.to_thread(management.post_to_connection, ConnectionId=connection_id, Data=data)


async def subscribe(client: RawWebSocket) -> int:
    reply = await client.request({"action": "subscribe", "group": GROUP})
    assert reply["type"] == "Subscribed", reply
    seq: int = reply["seq"]
    return seq


async def notify(http: Any, blob_bytes: int, i: int) -> dict[str, Any]:
    """One ~blob_bytes message to GROUP; the publish's answer (the REST client gives up
    after 5 s, so an answer that waits for the client fails the test)."""
    body = {"userId": f"u{i}", "action": "bulk", "details": {"i": i, "blob": "x" * blob_bytes}}
    response = await http.post("/notify/user-action", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_client_that_never_reads_gets_exactly_what_was_counted_delivered(stack: ObservedDeployment) -> None:
    async with await RawWebSocket.open(stack) as stalled, rest(stack) as http:
        base = await subscribe(stalled)
        results: list[dict[str, Any]] = []
        # Publish until the client's buffer (and the socket's below it) is full and two
        # publishes have been refused: 429 on every attempt, counted as failed.
        while sum(r["failed"] for r in results) < 2:
            assert len(results) < 200, "the outbound buffer never filled up"
            results.append(await notify(http, 60_000, len(results)))
        for result in results:
            assert result["recipients"] == 1
            assert result["delivered"] + result["failed"] == 1 and result["gone"] == 0, result
        delivered = [r["seq"] for r in results if r["delivered"]]
        # The 1 MiB outbound buffer, plus the socket's few hundred KB: bounded, and not tiny.
        assert MAX_QUEUED_BYTES // 61_000 <= len(delivered) <= (MAX_QUEUED_BYTES + 512 * 1024) // 60_000

        # Reading at last, the client gets every frame counted as delivered, in order, and nothing else.
        received = [(await stalled.receive())["seq"] for _ in delivered]
        assert received == delivered == [base + i for i in range(1, len(delivered) + 1)]
        await stalled.expect_silence()


async def test_a_slow_reader_holds_up_no_publish_and_gets_everything_in_order(stack: ObservedDeployment) -> None:
    async with await RawWebSocket.open(stack) as slow, rest(stack) as http:
        base = await subscribe(slow)
        # 30 messages of 25 KB: more than the socket buffers hold, less than the outbound buffer.
        results = [await notify(http, 25_000, i) for i in range(30)]
        assert [(r["delivered"], r["failed"]) for r in results] == [(1, 0)] * 30  # answered before any read
        received = [(await slow.receive(chunk=4096, pause=0.001))["seq"] for _ in results]
        assert received == [base + i for i in range(1, 31)]
        await slow.expect_silence()


async def test_post_to_connection_answers_429_when_the_buffer_is_full_and_200_once_it_drains(
    stack: ObservedDeployment,
) -> None:
    management = management_client(stack)
    async with await RawWebSocket.open(stack) as stalled:
        connection_id = id_of(stack, stalled)
        frame = b'{"n":%d,"pad":"' + b"p" * 50_000 + b'"}'
        accepted = 0
        while True:
            assert accepted < 500, "the outbound buffer never filled up"
            try:
                await post(management, connection_id, frame % accepted)
            except ClientError as refused:
                error = refused.response["Error"]
                assert (refused.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"]) == (
                    429,
                    "LimitExceededException",
                )
                break
            accepted += 1
        assert [(await stalled.receive())["n"] for _ in range(accepted)] == list(range(accepted))
        await post(management, connection_id, b'{"n":"again"}')
        assert (await stalled.receive())["n"] == "again"


async def test_delete_connection_sends_what_was_accepted_before_closing(stack: ObservedDeployment) -> None:
    management = management_client(stack)
    async with await RawWebSocket.open(stack) as client:
        connection_id = id_of(stack, client)
        for n in range(3):
            await post(management, connection_id, b'{"n":%d}' % n)
        response = await asyncio.to_thread(management.delete_connection, ConnectionId=connection_id)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
        with pytest.raises(management.exceptions.GoneException):  # closing: no more frames taken
            await post(management, connection_id, b"{}")
        assert [(await client.receive())["n"] for _ in range(3)] == [0, 1, 2]
        assert await client.wait_closed() == 1000
        await asyncio.to_thread(stack.wait_gone, connection_id)


async def test_delete_connection_of_a_client_that_never_reads_still_closes_it(stack: ObservedDeployment) -> None:
    management = management_client(stack)
    async with await RawWebSocket.open(stack) as stalled:
        connection_id = id_of(stack, stalled)
        frame = b'{"pad":"' + b"p" * 100_000 + b'"}'
        with pytest.raises(management.exceptions.LimitExceededException):
            for _ in range(200):
                await post(management, connection_id, frame)
        await asyncio.to_thread(management.delete_connection, ConnectionId=connection_id)
        # Its close frame cannot be sent: the connection is aborted and $disconnect runs.
        await asyncio.to_thread(stack.wait_gone, connection_id, 10)
        assert stack.find_connection(stalled.user_agent) is None
