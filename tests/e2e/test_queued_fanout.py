"""Queued fan-out on the local stack: the same path as AWS (publish → 202 → SQS FIFO in
moto → the local event source mapping → the fanout_worker function → @connections),
with groups made "large" by lowering the threshold and the shard size."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from local.emulated.faults import FaultPlan
from local.tools.client import RealtimeClient
from tests.e2e.support import Clients, connection_count, rest, subscribe
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

THRESHOLD, SHARD_SIZE = 3, 2
DEFAULTS = {"FANOUT_QUEUE_THRESHOLD": "500", "MEMBER_SHARD_SIZE": "1000"}


@pytest.fixture
def small_threshold(stack: ObservedDeployment) -> Iterator[None]:
    stack.redeploy({"FANOUT_QUEUE_THRESHOLD": str(THRESHOLD), "MEMBER_SHARD_SIZE": str(SHARD_SIZE)})
    yield
    stack.inject_faults(None)
    stack.wait_fanout_idle()
    stack.redeploy(DEFAULTS)


async def drain(client: RealtimeClient, quiet: float = 1.0) -> list[int]:
    seqs: list[int] = []
    while True:
        try:
            frame = await client.receive(timeout=quiet)
        except (TimeoutError, ConnectionClosed):  # a vanished socket has nothing more
            return seqs
        seqs.append(frame["seq"])


async def progress_when_done(http: httpx.AsyncClient, message_id: str, timeout: float = 30) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await http.get(f"/messages/{message_id}")
        assert response.status_code == 200, response.text
        body: dict = response.json()
        if body["done"] or asyncio.get_running_loop().time() > deadline:
            return body
        await asyncio.sleep(0.1)


def first_occurrences(seqs: list[int]) -> list[int]:
    """Client-side dedupe by seq, the documented contract for a redelivered slice."""
    seen: set[int] = set()
    return [s for s in seqs if not (s in seen or seen.add(s))]  # type: ignore[func-returns-value]


async def test_large_groups_answer_202_and_every_member_gets_each_message_once_in_order(
    stack: ObservedDeployment, small_threshold: None
) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        dashboards = await clients.open_many(7)
        base = max([await subscribe(d, "analytics") for d in dashboards])
        answers = []
        for i in range(5):
            response = await http.post("/broadcast/analytics", json={"metrics": {"i": i}})
            assert response.status_code == 202, response.text
            answers.append(response.json())
        assert [sorted(a) for a in answers] == [["group", "id", "recipients", "seq", "status"]] * 5
        assert [(a["group"], a["status"], a["recipients"]) for a in answers] == [("analytics", "queued", 7)] * 5
        assert [a["seq"] for a in answers] == list(range(base + 1, base + 6))

        progress = await progress_when_done(http, answers[-1]["id"])
        assert progress["done"] and progress["status"] == "done"
        assert (progress["recipients"], progress["delivered"], progress["gone"], progress["failed"]) == (7, 7, 0, 0)
        assert progress["slices"] == progress["slicesDone"] >= 2  # 7 members in shards of 2
        for dashboard in dashboards:
            assert await drain(dashboard) == list(range(base + 1, base + 6))
        unknown = await http.get("/messages/no-such-message")
        assert unknown.status_code == 404 and unknown.json()["code"] == "UnknownMessage"


async def test_queued_fan_out_under_faults_loses_nothing_and_removes_the_stale(
    stack: ObservedDeployment, small_threshold: None
) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        observer = await clients.open()
        dashboards = await clients.open_many(8)
        base = max([await subscribe(d, "analytics") for d in dashboards])
        stack.inject_faults(
            FaultPlan(throttle_rate=0.2, gone_rate=0.15, latency_ms=2, dynamodb_throttle_rate=0.05, seed=5)
        )
        ids = []
        for i in range(6):
            response = await http.post("/broadcast/analytics", json={"metrics": {"i": i}})
            if response.status_code == 503:  # DynamoDB throttling can reach the caller: it retries
                response = await http.post("/broadcast/analytics", json={"metrics": {"i": i}})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        results = [await progress_when_done(http, message_id) for message_id in ids]
        stack.inject_faults(None)
        assert all(r["done"] for r in results)

        received = {id(d): await drain(d) for d in dashboards}
        vanished = [d for d in dashboards if stack.find_connection(d.user_agent or "") is None]
        survivors = [d for d in dashboards if d not in vanished]
        expected = list(range(base + 1, base + 7))
        missing = 0
        for d in survivors:
            deduplicated = first_occurrences(received[id(d)])
            assert deduplicated == sorted(deduplicated), received[id(d)]
            assert set(deduplicated) <= set(expected)
            missing += len(expected) - len(deduplicated)
        assert missing == sum(r["failed"] for r in results)  # nothing lost without being counted
        assert vanished and sum(r["gone"] for r in results) == len(vanished)
        counts = await connection_count(observer)
        assert counts["groups"]["analytics"] == len(survivors)  # stale ones removed, counts exact
        assert stack.fanout_queue_depth()["deadLetters"] == 0


def test_a_poison_slice_ends_in_the_dead_letter_queue(stack: ObservedDeployment, small_threshold: None) -> None:
    """SQS redrive after maxReceiveCount, as deployed: the worker reports the record failed
    each time (partial batch failure), moto moves it to the DLQ on the 6th receive."""
    import boto3

    from local.emulated.fanout_queue import DEAD_LETTER_QUEUE_NAME, QUEUE_NAME, queue_url

    sqs = boto3.client(
        "sqs",
        endpoint_url=stack.dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    sqs.send_message(
        QueueUrl=queue_url(stack.dynamodb_endpoint, QUEUE_NAME),
        MessageBody='{"not": "a slice"}',
        MessageGroupId="poison#0",
        MessageDeduplicationId="poison-1",
    )
    deadline = time.monotonic() + 30
    while stack.fanout_queue_depth()["deadLetters"] == 0:
        assert time.monotonic() < deadline, stack.fanout_queue_depth()
        time.sleep(0.5)
    dlq = queue_url(stack.dynamodb_endpoint, DEAD_LETTER_QUEUE_NAME)
    [letter] = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"]
    assert letter["Body"] == '{"not": "a slice"}'
    assert int(letter["Attributes"]["ApproximateReceiveCount"]) >= 5
    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=letter["ReceiptHandle"])
