"""Connections that end badly: a socket dropped without a close frame is cleaned up by
$disconnect; one whose $disconnect never ran is found gone (410) by the next publish."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.support import Clients, connection_count, rest, subscribe
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e


async def test_a_socket_dropped_without_goodbye_is_cleaned_up(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        crashed, witness = await clients.open_many(2)
        await subscribe(crashed, "analytics")
        connection_id = clients.connection_id(crashed)
        crashed.abort()
        await asyncio.to_thread(stack.wait_gone, connection_id)
        assert await connection_count(witness) == {
            "connections": 1,
            "groups": {"admins": 1, "user-activity": 0, "analytics": 0, "alerts": 0},
        }


async def test_a_closed_client_is_no_longer_counted(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        leaving, staying = await clients.open_many(2)
        await subscribe(leaving, "alerts")
        await clients.close(leaving)
        assert await connection_count(staying) == {
            "connections": 1,
            "groups": {"admins": 1, "user-activity": 0, "analytics": 0, "alerts": 0},
        }


async def test_a_stale_connection_is_found_gone_by_the_next_publish(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        stale, live = await clients.open_many(2)
        await subscribe(stale, "analytics")
        last_seq = await subscribe(live, "analytics")
        # The socket goes, but $disconnect never runs: DynamoDB still lists the connection.
        assert stack.vanish(clients.connection_id(stale))
        assert await stale.wait_closed() == 1001
        assert (await connection_count(live))["groups"]["analytics"] == 2

        result = (await http.post("/broadcast/analytics", json={"metrics": {"cpu": 0.9}})).json()
        assert (result["recipients"], result["delivered"], result["gone"], result["failed"]) == (2, 1, 1, 0)
        assert (await live.receive())["seq"] == last_seq + 1
        assert await connection_count(live) == {
            "connections": 1,
            "groups": {"admins": 1, "user-activity": 0, "analytics": 1, "alerts": 0},
        }
        result = (await http.post("/broadcast/analytics", json={"metrics": {"cpu": 0.1}})).json()
        assert (result["recipients"], result["delivered"], result["gone"]) == (1, 1, 0)
        await live.receive()


async def test_a_vanished_socket_is_counted_until_a_send_finds_it_gone(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        client = await clients.open()
        stack.vanish(clients.connection_id(client))
        await client.wait_closed()
        assert (await http.get("/status")).json()["connections"] == 1
        # The next publish to admins finds it gone and removes it.
        result = (await http.post("/broadcast/test", json={"message": "anyone there?"})).json()
        assert (result["recipients"], result["gone"]) == (1, 1)
        assert (await http.get("/status")).json()["connections"] == 0
