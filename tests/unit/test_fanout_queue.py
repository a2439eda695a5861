"""The SQS fan-out queue adapter: batches of 10, FIFO group per shard, deduplication per
(message, shard), retries of the entries SQS reports failed, and failures as domain errors."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from realtime.adapters.fanout_queue import SqsFanoutQueue
from realtime.domain.models import FanoutSlice
from realtime.errors import ServiceUnavailable


def slices(count: int, message_id: str = "m1") -> list[FanoutSlice]:
    return [
        FanoutSlice(message_id=message_id, group="admins", seq=7, shard=k, envelope='{"seq":7}') for k in range(count)
    ]


def test_slices_reach_a_fifo_queue_once_each_grouped_by_shard() -> None:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="f.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        queue = SqsFanoutQueue(sqs, url)
        queue.enqueue(slices(23))
        queue.enqueue(slices(23))  # a retried publish: deduplicated by message id and shard
        received = []
        while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
            "Messages"
        ):
            received += batch
        assert len(received) == 23
        assert sorted(json.loads(m["Body"])["shard"] for m in received) == list(range(23))
        assert {m["Attributes"]["MessageGroupId"] for m in received} == {f"admins#{k}" for k in range(23)}


class FlakyClient:
    """Reports some entries failed (throttled) the first time, as SendMessageBatch can."""

    def __init__(self, sender_fault: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.sender_fault = sender_fault

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([e["Id"] for e in Entries])
        if len(self.calls) == 1:
            failed = [{"Id": e["Id"], "SenderFault": self.sender_fault, "Code": "Throttled"} for e in Entries[:2]]
            return {"Successful": [], "Failed": failed}
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def test_entries_reported_failed_are_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    client = FlakyClient()
    SqsFanoutQueue(client, "https://sqs/q.fifo").enqueue(slices(5))
    assert client.calls == [["0", "1", "2", "3", "4"], ["0", "1"]]


def test_a_malformed_entry_or_an_outage_is_service_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    with pytest.raises(ServiceUnavailable):
        SqsFanoutQueue(FlakyClient(sender_fault=True), "https://sqs/q.fifo").enqueue(slices(3))
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        with pytest.raises(ServiceUnavailable):  # the queue does not exist
            SqsFanoutQueue(sqs, "https://sqs.us-east-1.amazonaws.com/123456789012/missing.fifo").enqueue(slices(1))
