"""Request/response actions: each answers the asking socket only, echoing its requestId."""

from __future__ import annotations

import pytest

from tests.e2e.support import Clients, connection_count, includes, rest, subscribe
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e


async def test_ping_answers_pong_with_the_request_id(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        asking, other = await clients.open_many(2)
        assert (await asking.request({"action": "ping"}))["type"] == "Pong"
        assert includes(
            await asking.request({"action": "ping", "requestId": "r-42"}), {"type": "Pong", "requestId": "r-42"}
        )
        await other.expect_silence(0.1)


async def test_connection_count_is_exact(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        first, second, third = await clients.open_many(3)
        await subscribe(first, "analytics")
        await subscribe(second, "analytics")
        await subscribe(second, "alerts")
        reply = await third.request({"action": "getConnectionCount", "requestId": "count-1"})
        assert includes(reply, {"type": "ConnectionCount", "requestId": "count-1"})
        assert includes(
            reply["data"],
            {"connections": 3, "groups": {"admins": 3, "user-activity": 0, "analytics": 2, "alerts": 1}},
        )
        await clients.close(second)
        assert await connection_count(first) == {
            "connections": 2,
            "groups": {"admins": 2, "user-activity": 0, "analytics": 1, "alerts": 0},
        }


async def test_platform_stats_show_counts_and_the_latest_event_of_each_type(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        dashboard = await clients.open()
        published = (await http.post("/broadcast/revenue", json={"totalRevenue": 1234.5, "currency": "EUR"})).json()
        reply = await dashboard.request({"action": "getPlatformStats", "requestId": "stats"})
        assert reply["type"] == "PlatformStats" and reply["requestId"] == "stats"
        stats = reply["data"]
        assert stats["connections"] == 1 and stats["groups"]["admins"] == 1
        latest = stats["latest"]["RevenueUpdate"]
        assert (latest["id"], latest["seq"], latest["group"]) == (
            published["id"],
            published["seq"],
            "analytics",
        )
        assert latest["data"] == {"totalRevenue": 1234.5, "currency": "EUR"}

        snapshot = (await http.get("/platform-snapshot")).json()
        assert snapshot["latest"]["RevenueUpdate"] == latest
