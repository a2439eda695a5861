"""The queued path through the real handlers over moto (DynamoDB and an SQS FIFO queue):
rest_api answers 202 and enqueues one slice per shard; fanout_worker, given the SQS event
Lambda's event source mapping builds, delivers them and reports a poison record as a
partial batch failure; GET /messages/{id} follows the progress."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from local.emulated.fanout_queue import sqs_event
from local.tools.tokens import mint_token
from tests.fakes import FakeSender
from tests.integration.conftest import Invoke
from tests.integration.events import authorizer_event, connect_event, rest_event

BASE = "/api/admin/realtime"
ADMIN = mint_token("backend", ["admin"])


@pytest.fixture
def queue(function_env: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="fanout.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    monkeypatch.setenv("FANOUT_QUEUE_URL", url)
    monkeypatch.setenv("FANOUT_QUEUE_THRESHOLD", "2")
    monkeypatch.setenv("MEMBER_SHARD_SIZE", "2")
    return {"url": url, "arn": arn}


def receive_all(url: str) -> list[dict[str, Any]]:
    sqs, found = boto3.client("sqs", region_name="us-east-1"), []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages"):
        found += batch
    return found


def rest(invoke: Invoke, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    response = invoke("rest_api", rest_event(method, BASE + path, body, ADMIN))
    return response["statusCode"], json.loads(response["body"])


def test_queued_publish_through_the_worker(invoke: Invoke, replies: FakeSender, queue: dict[str, str]) -> None:
    ids = [f"conn{i}=" for i in range(5)]
    for cid in ids:
        policy = invoke("authorizer", authorizer_event(cid, mint_token("alice", ["admin"])))
        invoke("connect", connect_event(cid, policy["context"], policy["principalId"]))  # joins admins

    status, body = rest(invoke, "POST", "/broadcast/test", {"message": "to everyone"})
    assert status == 202 and body["status"] == "queued" and body["recipients"] == 5
    messages = receive_all(queue["url"])
    slices = [json.loads(m["Body"]) for m in messages]
    assert sorted(s["shard"] for s in slices) == [0, 1, 2]  # 5 members in shards of 2
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"admins#0", "admins#1", "admins#2"}
    assert replies.sent == {}

    poison = {**messages[0], "MessageId": "poison", "Body": '{"not": "a slice"}'}
    poison["Attributes"] = {**messages[0]["Attributes"], "MessageGroupId": "elsewhere#0"}
    result = invoke("fanout_worker", sqs_event([*messages, poison], queue["arn"]))
    assert result == {"batchItemFailures": [{"itemIdentifier": "poison"}]}
    assert all(len(replies.sent[cid]) == 1 for cid in ids)
    assert json.loads(replies.sent[ids[0]][0])["seq"] == body["seq"]

    status, progress = rest(invoke, "GET", f"/messages/{body['id']}")
    assert status == 200
    assert {k: progress[k] for k in ("status", "delivered", "gone", "failed", "slices", "slicesDone", "done")} == {
        "status": "done",
        "delivered": 5,
        "gone": 0,
        "failed": 0,
        "slices": 3,
        "slicesDone": 3,
        "done": True,
    }
    again = invoke("fanout_worker", sqs_event(messages, queue["arn"]))  # SQS redelivers the batch
    assert again == {"batchItemFailures": []}
    assert all(len(replies.sent[cid]) == 1 for cid in ids)


def test_an_unknown_message_is_404(invoke: Invoke, queue: dict[str, str]) -> None:
    status, body = rest(invoke, "GET", "/messages/nope")
    assert (status, body["code"]) == (404, "UnknownMessage")
