"""Delivery under injected faults on @connections (throttling, 410 Gone with sockets that
vanish without $disconnect, added latency): nothing is delivered twice or out of order,
nothing is dropped silently, stale connections are removed and counts stay exact."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.emulated.faults import Fault, FaultPlan
from local.tools.client import RealtimeClient
from tests.e2e.support import Clients, connection_count, rest, subscribe
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e


@pytest.fixture
def faults(stack: ObservedDeployment) -> Iterator[None]:
    yield
    stack.inject_faults(None)


async def drain(client: RealtimeClient) -> list[dict]:
    frames = []
    while True:
        try:
            frames.append(await client.receive(timeout=0.5))
        except TimeoutError:
            return frames


def test_a_fault_plan_draws_its_shares() -> None:
    plan = FaultPlan(gone_rate=0.1, throttle_rate=0.3, seed=7)
    draws = [plan.draw() for _ in range(10_000)]
    assert 0.08 < draws.count(Fault.GONE) / 10_000 < 0.12
    assert 0.27 < draws.count(Fault.THROTTLE) / 10_000 < 0.33
    assert FaultPlan.from_env({"LOCAL_FAULT_THROTTLE_RATE": "0.5", "OTHER": "x"}).throttle_rate == 0.5
    assert not FaultPlan().active


async def test_throttling_and_latency_never_duplicate_reorder_or_drop_silently(
    stack: ObservedDeployment, faults: None
) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        dashboards = await clients.open_many(6)
        base = max([await subscribe(d, "analytics") for d in dashboards])
        stack.inject_faults(FaultPlan(throttle_rate=0.35, latency_ms=3, seed=1))
        results = []
        for i in range(8):
            response = await http.post("/broadcast/analytics", json={"metrics": {"i": i}})
            assert response.status_code == 200, response.text
            results.append(response.json())
        stack.inject_faults(None)
        for result in results:
            assert result["recipients"] == 6
            assert result["delivered"] + result["failed"] == 6  # every delivery accounted for
            assert result["gone"] == 0
        delivered = sum(r["delivered"] for r in results)
        received = [[f["seq"] for f in await drain(d)] for d in dashboards]
        assert sum(len(seqs) for seqs in received) == delivered
        for seqs in received:
            assert seqs == sorted(set(seqs))  # in order, each at most once
            assert set(seqs) <= set(range(base + 1, base + 9))
        assert delivered >= 46  # 35 % throttling, 5 attempts: a failure is a ~0.5 % event


async def test_gone_connections_are_removed_and_counts_stay_exact(stack: ObservedDeployment, faults: None) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        observer = await clients.open()
        dashboards = await clients.open_many(8)
        for d in dashboards:
            await subscribe(d, "alerts")
        stack.inject_faults(FaultPlan(gone_rate=0.4, seed=3))
        response = await http.post("/alert", json={"title": "t", "message": "m"})
        stack.inject_faults(None)
        result = response.json()
        assert result["recipients"] == 8
        assert result["delivered"] + result["gone"] + result["failed"] == 8
        assert result["gone"] >= 1
        counts = await connection_count(observer)
        assert counts["groups"]["alerts"] == 8 - result["gone"]
        assert counts["connections"] == 9 - result["gone"]
        # A second publish reaches exactly the survivors, none of them twice.
        again = (await http.post("/alert", json={"title": "t", "message": "again"})).json()
        assert (again["recipients"], again["delivered"], again["gone"]) == (8 - result["gone"], 8 - result["gone"], 0)


async def test_dynamodb_throttling_is_absorbed_and_counts_stay_exact(stack: ObservedDeployment, faults: None) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        stack.inject_faults(FaultPlan(dynamodb_throttle_rate=0.15, throttle_rate=0.15, seed=5))
        observer = await clients.open()
        dashboards = await clients.open_many(5)
        base = max([await subscribe(d, "user-activity") for d in dashboards])
        for i in range(5):
            body = {"userId": f"u{i}", "action": "login"}
            response = await http.post("/notify/user-action", json=body)
            assert response.status_code == 200, response.text
        for d in dashboards[:2]:
            await clients.close(d)
        counts = await connection_count(observer)
        stack.inject_faults(None)
        assert counts["connections"] == 4
        assert counts["groups"]["user-activity"] == 3
        for d in dashboards[2:]:
            assert [f["seq"] for f in await drain(d)] == [base + i for i in range(1, 6)]


def test_injected_dynamodb_throttling_is_what_botocore_retries(stack: ObservedDeployment, faults: None) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.dynamodb_endpoint,
        region_name="us-east-1",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    stack.inject_faults(FaultPlan(dynamodb_throttle_rate=1.0))
    with pytest.raises(ClientError) as caught:
        client.get_item(TableName=stack.table_name, Key={"pk": {"S": "STATS"}, "sk": {"S": "META"}})
    assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    stack.inject_faults(None)
    client.get_item(TableName=stack.table_name, Key={"pk": {"S": "STATS"}, "sk": {"S": "META"}})
