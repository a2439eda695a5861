"""The latency model applied by the local stack: each emulated service takes at least its
configured round trip (lower bounds only: a loaded machine only adds to them)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from local.emulated.latency import LatencyModel
from local.runner.settings import LOCAL_REGION
from tests.e2e.support import Clients, management_client
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

DELAY_MS = 60
# asyncio's timers may fire up to a clock tick early.
AT_LEAST = DELAY_MS / 1000 * 0.95


@pytest.fixture
def latency(stack: ObservedDeployment) -> Iterator[None]:
    yield
    stack.inject_latency(None)


def _aws_client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _elapsed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def test_dynamodb_and_sqs_calls_take_their_round_trip(stack: ObservedDeployment, latency: None) -> None:
    dynamodb = _aws_client("dynamodb", stack.dynamodb_endpoint)
    sqs = _aws_client("sqs", stack.dynamodb_endpoint)
    stack.inject_latency(LatencyModel(dynamodb_ms=DELAY_MS))
    assert _elapsed(lambda: dynamodb.describe_table(TableName=stack.table_name)) >= AT_LEAST
    stack.inject_latency(LatencyModel(sqs_ms=DELAY_MS))
    assert _elapsed(lambda: sqs.list_queues()) >= AT_LEAST


def test_put_events_takes_its_round_trip(stack: ObservedDeployment, latency: None) -> None:
    events = _aws_client("events", stack.events_endpoint)
    stack.inject_latency(LatencyModel(eventbridge_ms=DELAY_MS))
    entry = {"Source": "tests.latency", "DetailType": "Unrelated", "Detail": "{}", "EventBusName": stack.event_bus_name}
    assert _elapsed(lambda: events.put_events(Entries=[entry])) >= AT_LEAST


async def test_connections_calls_and_invocations_take_their_round_trip(
    stack: ObservedDeployment, latency: None
) -> None:
    async with Clients(stack) as clients:
        connection_id = clients.connection_id(await clients.open())
        management = management_client(stack)
        stack.inject_latency(LatencyModel(connections_ms=DELAY_MS))
        took = await asyncio.to_thread(_elapsed, lambda: management.get_connection(ConnectionId=connection_id))
        assert took >= AT_LEAST
        stack.inject_latency(LatencyModel(lambda_invoke_ms=DELAY_MS))
        started = time.perf_counter()
        await clients.open()
        # The authorizer, then $connect: two invocations before the socket opens.
        assert time.perf_counter() - started >= 2 * AT_LEAST
