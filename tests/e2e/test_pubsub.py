"""Publish and subscribe, as dashboards and backends use it: every subscriber gets each
envelope once, non-subscribers get nothing, and seq counts 1, 2, 3… per group."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from local.tools.client import RealtimeClient
from tests.e2e.support import Clients, connection_count, includes, rest, subscribe
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

ENVELOPE_KEYS = {"type", "group", "id", "seq", "ts", "data"}


async def receive_all(clients: list[RealtimeClient]) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(client.receive() for client in clients)))


async def test_rest_publish_reaches_every_subscriber_and_no_one_else(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        subscribers = await clients.open_many(3)
        bystanders = await clients.open_many(2)
        last_seq = max([await subscribe(client, "analytics") for client in subscribers])

        response = await http.post("/broadcast/analytics", json={"metrics": {"cpu": 0.5}})
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["recipients"], result["delivered"], result["gone"], result["failed"]) == (3, 3, 0, 0)
        assert result["seq"] == last_seq + 1

        envelopes = await receive_all(subscribers)
        for envelope in envelopes:
            assert set(envelope) >= ENVELOPE_KEYS, envelope
            assert envelope == {**envelopes[0]}
            assert envelope["type"] == "AnalyticsUpdate" and envelope["group"] == "analytics"
            assert envelope["id"] == result["id"] and envelope["seq"] == result["seq"]
            assert envelope["data"] == {"metrics": {"cpu": 0.5}}
            assert envelope["ts"].endswith("Z")
        await asyncio.gather(*(client.expect_silence() for client in bystanders))


async def test_seq_increments_by_one_per_group(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        dashboard = await clients.open()
        analytics_seq = await subscribe(dashboard, "analytics")
        alerts_seq = await subscribe(dashboard, "alerts")
        for offset in range(1, 4):
            await http.post("/broadcast/analytics", json={"metrics": {"rps": offset}})
            assert (await dashboard.receive())["seq"] == analytics_seq + offset
        alert = {"title": "Disk", "message": "90% full"}
        assert (await http.post("/alert/warning", json=alert)).status_code == 200
        envelope = await dashboard.receive()
        assert (envelope["group"], envelope["seq"]) == ("alerts", alerts_seq + 1)
        assert envelope["data"] == {**alert, "severity": "warning"}


async def test_socket_publish_replies_published_and_delivers(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        publisher, subscriber, bystander = await clients.open_many(3)
        last_seq = await subscribe(subscriber, "alerts")
        data = {"title": "CPU", "message": "hot", "severity": "error"}
        await publisher.send(
            {"action": "publish", "group": "alerts", "type": "Alert", "data": data, "requestId": "pub-1"}
        )
        reply = await publisher.receive()
        assert reply["type"] == "Published" and reply["requestId"] == "pub-1"
        assert (reply["eventType"], reply["group"], reply["seq"]) == ("Alert", "alerts", last_seq + 1)
        assert (reply["recipients"], reply["delivered"], reply["gone"]) == (1, 1, 0)
        envelope = await subscriber.receive()
        assert (envelope["type"], envelope["id"], envelope["data"]) == ("Alert", reply["id"], data)
        await bystander.expect_silence()
        await publisher.expect_silence(0.1)  # not subscribed to alerts: only its reply


async def test_every_admin_gets_admins_broadcasts(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        dashboards = await clients.open_many(4)
        response = await http.post("/broadcast/platform-update", json={"status": "degraded"})
        assert response.json()["delivered"] == 4
        for envelope in await receive_all(dashboards):
            assert (envelope["type"], envelope["group"]) == ("PlatformStatus", "admins")


async def test_unsubscribe_stops_delivery(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        leaving, staying = await clients.open_many(2)
        await subscribe(leaving, "analytics")
        await subscribe(staying, "analytics")
        reply = await leaving.request({"action": "unsubscribe", "group": "analytics", "requestId": "u1"})
        assert includes(reply, {"type": "Unsubscribed", "group": "analytics", "requestId": "u1"}), reply
        assert (await connection_count(staying))["groups"]["analytics"] == 1

        result = (await http.post("/broadcast/analytics", json={"metrics": {"cpu": 1}})).json()
        assert (result["recipients"], result["delivered"]) == (1, 1)
        assert (await staying.receive())["id"] == result["id"]
        await leaving.expect_silence()


async def test_subscribing_twice_delivers_once(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        dashboard = await clients.open()
        await subscribe(dashboard, "analytics")
        await subscribe(dashboard, "analytics")
        assert (await connection_count(dashboard))["groups"]["analytics"] == 1
        await http.post("/broadcast/analytics", json={"metrics": {"cpu": 1}})
        assert (await dashboard.receive())["type"] == "AnalyticsUpdate"
        await dashboard.expect_silence()
