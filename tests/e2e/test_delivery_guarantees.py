"""Delivery guarantees over real sockets: resume after a reconnect with no gap and no
duplicate (also while a publisher keeps going), expired history, idempotent and batch
publishing, user targeting and presence."""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
import httpx
import pytest

from local.tools.client import RealtimeClient
from tests.e2e.support import Clients, rest, token
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e


async def subscribe(client: RealtimeClient, group: str, **resume: Any) -> dict[str, Any]:
    reply = await client.request({"action": "subscribe", "group": group, **resume})
    assert reply["type"] == "Subscribed", reply
    return reply


async def publish(http: httpx.AsyncClient, n: int, group: str = "alerts") -> list[int]:
    seqs = []
    for i in range(n):
        response = await http.post(
            "/publish", json={"group": group, "type": "TestMessage", "data": {"message": str(i)}}
        )
        assert response.status_code == 200, response.text
        seqs.append(response.json()["seq"])
    return seqs


async def receive_seqs(client: RealtimeClient, count: int) -> list[int]:
    return [(await client.receive())["seq"] for _ in range(count)]


async def test_a_dashboard_that_reconnects_gets_exactly_what_it_missed(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        first = await clients.open()
        subscribed = await subscribe(first, "alerts")
        base, epoch = subscribed["seq"], subscribed["epoch"]
        assert await publish(http, 5) == [base + i for i in range(1, 6)]
        assert await receive_seqs(first, 5) == [base + i for i in range(1, 6)]
        await clients.close(first)

        await publish(http, 5)  # 6-10 while it is away
        second = await clients.open()
        reply = await subscribe(second, "alerts", since=base + 5, epoch=epoch)
        assert reply == {"type": "Subscribed", "group": "alerts", "seq": base + 10, "epoch": epoch, "recovered": True}
        assert await receive_seqs(second, 5) == [base + i for i in range(6, 11)]
        await publish(http, 1)  # live 11
        assert await receive_seqs(second, 1) == [base + 11]
        await second.expect_silence()


async def test_resume_while_a_publisher_keeps_publishing(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        first = await clients.open()
        subscribed = await subscribe(first, "analytics")
        base, epoch = subscribed["seq"], subscribed["epoch"]
        await publish(http, 30, "analytics")
        await receive_seqs(first, 30)
        await clients.close(first)
        await publish(http, 20, "analytics")

        second = await clients.open()

        async def keep_publishing() -> list[int]:
            async with rest(stack) as other:
                return await publish(other, 25, "analytics")

        publisher = asyncio.create_task(keep_publishing())
        reply = await subscribe(second, "analytics", since=base + 10, epoch=epoch)
        assert reply["recovered"] is True
        published = await publisher
        last = published[-1]
        seen = await receive_seqs(second, last - base - 10)
        assert seen == list(range(base + 11, last + 1))  # every seq once, in order, no gap
        await second.expect_silence()


async def test_an_expired_since_is_not_recovered(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        dashboard = await clients.open()
        subscribed = await subscribe(dashboard, "user-activity")
        base, epoch = subscribed["seq"], subscribed["epoch"]
        await publish(http, 3, "user-activity")
        await receive_seqs(dashboard, 3)
        await clients.close(dashboard)
        # The history's oldest message expires (what TTL does after HISTORY_TTL_SECONDS).
        table = boto3.client("dynamodb", endpoint_url=stack.dynamodb_endpoint, region_name="us-east-1")
        table.delete_item(
            TableName=stack.table_name,
            Key={"pk": {"S": "HIST#user-activity"}, "sk": {"S": f"SEQ#{base + 1:020d}"}},
        )
        again = await clients.open()
        reply = await subscribe(again, "user-activity", since=base, epoch=epoch)
        assert (reply["recovered"], reply["seq"]) == (False, base + 3)
        await again.expect_silence()
        reply = await subscribe(await clients.open(), "user-activity", since=base + 1, epoch="another-epoch")
        assert reply["recovered"] is False


async def test_the_same_idempotency_key_delivers_once(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        dashboard = await clients.open()
        await subscribe(dashboard, "alerts")
        body = {"title": "Deploy", "message": "v2 is live"}
        headers = {"Idempotency-Key": "deploy-v2"}
        first = await http.post("/alert", json=body, headers=headers)
        retry = await http.post("/alert", json=body, headers=headers)
        assert first.status_code == retry.status_code == 200
        assert retry.json() == first.json()
        assert (await dashboard.receive())["id"] == first.json()["id"]
        await dashboard.expect_silence()
        conflict = await http.post("/alert", json={**body, "message": "v3"}, headers=headers)
        assert (conflict.status_code, conflict.json()["code"]) == (409, "IdempotencyConflict")


async def test_a_batch_delivers_the_valid_events_despite_an_invalid_one(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        dashboard = await clients.open()
        await subscribe(dashboard, "alerts")
        events = [
            {"group": "alerts", "type": "Alert", "data": {"title": "a", "message": "first"}},
            {"group": "alerts", "type": "Alert", "data": {"title": "b", "severity": "loud"}},
            {"group": "alerts", "type": "Alert", "data": {"title": "c", "message": "third"}},
        ]
        response = await http.post("/publish", json={"events": events})
        assert response.status_code == 200
        results = response.json()["results"]
        assert [r["status"] for r in results] == [200, 422, 200]
        received = [(await dashboard.receive())["data"]["message"] for _ in range(2)]
        assert received == ["first", "third"]


async def test_user_targeting_and_presence(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        tab1, tab2 = await clients.open(token("carol")), await clients.open(token("carol"))
        other = await clients.open(token("dave"))
        for client in (tab1, tab2, other):
            await subscribe(client, "analytics")
        response = await http.post(
            "/publish", json={"userId": "carol", "type": "TestMessage", "data": {"message": "hi"}}
        )
        assert (response.json()["recipients"], response.json()["delivered"]) == (2, 2)
        for tab in (tab1, tab2):
            envelope = await tab.receive()
            assert (envelope["userId"], envelope["data"]) == ("carol", {"message": "hi"})
        await other.expect_silence()

        presence = await other.request({"action": "getPresence", "group": "analytics", "requestId": "p"})
        assert presence["data"]["connections"] == 3
        assert (presence["data"]["users"], presence["data"]["userIds"]) == (2, ["carol", "dave"])
        await clients.close(tab1)
        rest_presence = (await http.get("/groups/analytics")).json()
        assert (rest_presence["connections"], rest_presence["users"]) == (2, 2)
        gone = clients.connection_id(other)
        other.abort()  # gone without a goodbye
        await asyncio.to_thread(stack.wait_gone, gone)
        assert (await http.get("/groups/analytics")).json()["users"] == 1
