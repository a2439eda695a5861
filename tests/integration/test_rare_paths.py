"""The paths production takes and a happy-path test does not, through the real handlers
over moto: the sweeper finding connections whose token expired, each function's lifecycle
events on a bus (and counted, never raised, when the bus is missing), closes that fail,
stored messages no reader can parse, and publishes large enough to be queued from every
face. Each asserts what the function did and the metric the monitoring watches for it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.emulated.fanout_queue import sqs_event
from local.tools.tokens import mint_token
from realtime.adapters.dynamodb.keys import history_pk, seq_sk
from realtime.adapters.dynamodb.table import to_attributes
from tests.conftest import TABLE
from tests.fakes import FakeSender
from tests.integration.conftest import Invoke
from tests.integration.events import action_event, authorizer_event, connect_event, disconnect_event, rest_event

BASE = "/api/admin/realtime"
ADMIN = mint_token("backend", ["admin"])
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
BUS = "ops-bus"


@pytest.fixture
def queues(function_env: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fan-out queue (groups above 2 members are queued, in slices of 2) and the
    ingestion's dead-letter queue."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    fanout = sqs.create_queue(QueueName="fanout.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=fanout, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    dead_letters = sqs.create_queue(QueueName="ingest-dlq")["QueueUrl"]
    monkeypatch.setenv("FANOUT_QUEUE_URL", fanout)
    monkeypatch.setenv("FANOUT_QUEUE_THRESHOLD", "2")
    monkeypatch.setenv("MEMBER_SHARD_SIZE", "2")
    monkeypatch.setenv("INGEST_DEAD_LETTER_QUEUE_URL", dead_letters)
    return {"fanout": fanout, "fanout_arn": arn}


@pytest.fixture
def bus(queues: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The lifecycle bus, with a rule copying the hub's events to a queue the test reads."""
    events, sqs = boto3.client("events", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    events.create_event_bus(Name=BUS)
    seen = sqs.create_queue(QueueName="seen")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=seen, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="hub", EventBusName=BUS, EventPattern=json.dumps({"source": ["realtime.hub"]}))
    events.put_targets(Rule="hub", EventBusName=BUS, Targets=[{"Id": "seen", "Arn": arn}])
    monkeypatch.setenv("EVENT_BUS_NAME", BUS)
    return seen


@pytest.fixture
def missing_bus(queues: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", "deleted-bus")  # configured, but it no longer exists


@pytest.fixture
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")


def emitted(capfd: pytest.CaptureFixture[str]) -> set[str]:
    """The metric names written (as EMF) since the last call."""
    documents = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    return {m["Name"] for doc in documents for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}


def announced(seen: str) -> list[tuple[str, dict[str, Any]]]:
    sqs, found = boto3.client("sqs", region_name="us-east-1"), []
    while batch := sqs.receive_message(QueueUrl=seen, MaxNumberOfMessages=10).get("Messages"):
        found += [json.loads(message["Body"]) for message in batch]
    return [(event["detail-type"], event["detail"]) for event in found]


def open_connection(invoke: Invoke, connection_id: str, *, user: str = "alice", token_expired: bool = False) -> None:
    policy = invoke("authorizer", authorizer_event(connection_id, mint_token(user, ["admin"])))
    context = dict(policy["context"])
    if token_expired:  # two minutes ago: past the 30 s grace, in a minute the sweeper has not read
        context["expiresAt"] = str(int(time.time()) - 120)
    assert invoke("connect", connect_event(connection_id, context, policy["principalId"])) == {"statusCode": 200}


def send(invoke: Invoke, connection_id: str, frame: dict[str, Any]) -> None:
    assert invoke("message", action_event(connection_id, frame)) == {"statusCode": 200}


def rest(invoke: Invoke, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    response = invoke("rest_api", rest_event(method, BASE + path, body, ADMIN))
    return response["statusCode"], json.loads(response["body"])


def bridge_event(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"evt-{time.time_ns()}",
        "detail-type": "Realtime Publish",
        "source": "com.acme.billing",
        "account": "123456789012",
        "time": "2026-01-01T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def connections(invoke: Invoke) -> int:
    return int(rest(invoke, "GET", "/status")[1]["connections"])


# -- the sweeper ------------------------------------------------------------------------------


def test_the_sweeper_closes_and_removes_a_connection_whose_token_expired(
    invoke: Invoke, replies: FakeSender, bus: str, metrics_on: None, capfd: pytest.CaptureFixture[str]
) -> None:
    open_connection(invoke, "old=", token_expired=True)
    open_connection(invoke, "fresh=", user="bob")
    emitted(capfd)
    assert invoke("sweeper", SCHEDULED) == {"removed": 1}
    assert "ConnectionsExpired" in emitted(capfd)
    assert replies.closed == ["old="]  # its socket closed at API Gateway, never sent to
    assert replies.sent == {}
    assert connections(invoke) == 1
    closed = [detail for kind, detail in announced(bus) if kind == "Connection Closed"]
    assert [(detail["connectionId"], detail["reason"]) for detail in closed] == [("old=", "token-expired")]
    assert invoke("sweeper", SCHEDULED) == {"removed": 0}  # its cursor moved past that minute


# -- closes that fail are counted; the connection is removed anyway ---------------------------


def _sweep(invoke: Invoke) -> None:
    assert invoke("sweeper", SCHEDULED) == {"removed": 1}


def _act_with_an_expired_token(invoke: Invoke) -> None:
    send(invoke, "old=", {"action": "ping"})


def _revoke(invoke: Invoke) -> None:
    assert rest(invoke, "DELETE", "/connections/old=")[0] == 200


@pytest.mark.parametrize("close", [_sweep, _act_with_an_expired_token, _revoke], ids=["sweeper", "message", "rest_api"])
def test_a_close_that_fails_is_counted_and_the_connection_removed_anyway(
    invoke: Invoke,
    replies: FakeSender,
    metrics_on: None,
    capfd: pytest.CaptureFixture[str],
    close: Callable[[Invoke], None],
) -> None:
    open_connection(invoke, "old=", token_expired=True)
    replies.broken.add("old=")  # API Gateway refuses the DELETE (and any send)
    emitted(capfd)
    close(invoke)
    assert "CloseFailures" in emitted(capfd)
    assert "old=" in replies.closed
    assert connections(invoke) == 0


# -- lifecycle events: on the bus, or counted when it is missing ------------------------------

Scenario = Callable[[Invoke, FakeSender, dict[str, str]], None]


def _connect(invoke: Invoke, replies: FakeSender, queues: dict[str, str]) -> None:
    open_connection(invoke, "new=")


def _disconnect(invoke: Invoke, replies: FakeSender, queues: dict[str, str]) -> None:
    assert invoke("disconnect", disconnect_event("c1=")) == {"statusCode": 200}


def _subscribe(invoke: Invoke, replies: FakeSender, queues: dict[str, str]) -> None:
    send(invoke, "c1=", {"action": "subscribe", "group": "alerts"})  # the group's first member


def _revoke_c1(invoke: Invoke, replies: FakeSender, queues: dict[str, str]) -> None:
    assert rest(invoke, "DELETE", "/connections/c1=")[0] == 200


def _ingest_to_a_gone_connection(invoke: Invoke, replies: FakeSender, queues: dict[str, str]) -> None:
    replies.gone.add("c1=")  # its socket vanished without a $disconnect
    detail = {"group": "admins", "type": "Alert", "data": {"title": "t", "message": "m"}}
    assert invoke("ingest", bridge_event(detail))["status"] == "published"


def _worker_finds_a_gone_connection(invoke: Invoke, replies: FakeSender, queues: dict[str, str]) -> None:
    for cid in ("c2=", "c3="):
        open_connection(invoke, cid, user="bob")  # 3 members in admins: above the threshold
    status, body = rest(invoke, "POST", "/broadcast/test", {"message": "to everyone"})
    assert status == 202 and body["status"] == "queued"
    replies.gone.add("c1=")
    sqs, messages = boto3.client("sqs", region_name="us-east-1"), []
    while batch := sqs.receive_message(QueueUrl=queues["fanout"], MaxNumberOfMessages=10).get("Messages"):
        messages += batch
    assert invoke("fanout_worker", sqs_event(messages, queues["fanout_arn"])) == {"batchItemFailures": []}


def _sweep_c1(invoke: Invoke, replies: FakeSender, queues: dict[str, str]) -> None:
    open_connection(invoke, "old=", token_expired=True)
    assert invoke("sweeper", SCHEDULED) == {"removed": 1}


# (function, what it does, the lifecycle event that says so)
LIFECYCLE: list[tuple[str, Scenario, str]] = [
    ("connect", _connect, "Connection Opened"),
    ("disconnect", _disconnect, "Connection Closed"),
    ("message", _subscribe, "Group Occupied"),
    ("rest_api", _revoke_c1, "Connection Closed"),
    ("ingest", _ingest_to_a_gone_connection, "Connection Closed"),
    ("fanout_worker", _worker_finds_a_gone_connection, "Connection Closed"),
    ("sweeper", _sweep_c1, "Connection Closed"),
]


@pytest.mark.parametrize(("function", "scenario", "detail_type"), LIFECYCLE, ids=[row[0] for row in LIFECYCLE])
def test_each_function_puts_its_lifecycle_events_on_the_bus(
    invoke: Invoke,
    replies: FakeSender,
    queues: dict[str, str],
    bus: str,
    function: str,
    scenario: Scenario,
    detail_type: str,
) -> None:
    open_connection(invoke, "c1=")
    announced(bus)  # what the set-up announced
    scenario(invoke, replies, queues)
    assert detail_type in [kind for kind, _ in announced(bus)]


@pytest.mark.parametrize(("function", "scenario", "detail_type"), LIFECYCLE, ids=[row[0] for row in LIFECYCLE])
def test_each_function_counts_the_lifecycle_events_a_missing_bus_refused(
    invoke: Invoke,
    replies: FakeSender,
    queues: dict[str, str],
    missing_bus: None,
    metrics_on: None,
    capfd: pytest.CaptureFixture[str],
    function: str,
    scenario: Scenario,
    detail_type: str,
) -> None:
    open_connection(invoke, "c1=")
    emitted(capfd)
    scenario(invoke, replies, queues)  # succeeds: a lost notification never fails the caller
    assert "LifecycleEventsFailed" in emitted(capfd)


# -- a stored message no reader can parse is skipped and counted ------------------------------


def _store_unreadable(dynamodb_table: Any, group: str, seq: int) -> None:
    dynamodb_table.put_item(  # as an older writer could have
        TableName=TABLE,
        Item=to_attributes({"pk": history_pk(group), "sk": seq_sk(seq), "envelope": "not json", "ttl": 2**40}),
    )


def test_history_skips_and_counts_an_unreadable_message(
    invoke: Invoke, dynamodb_table: Any, metrics_on: None, capfd: pytest.CaptureFixture[str]
) -> None:
    for n in range(3):
        assert rest(invoke, "POST", "/alert", {"title": f"t{n}", "message": "m"})[0] == 200
    _store_unreadable(dynamodb_table, "alerts", 2)
    emitted(capfd)
    status, page = rest(invoke, "GET", "/groups/alerts/history")
    assert status == 200 and [item["seq"] for item in page["items"]] == [1, 3]
    assert "UnreadableItems" in emitted(capfd)


def test_a_resume_skips_and_counts_an_unreadable_message(
    invoke: Invoke, replies: FakeSender, dynamodb_table: Any, metrics_on: None, capfd: pytest.CaptureFixture[str]
) -> None:
    open_connection(invoke, "c1=")
    send(invoke, "c1=", {"action": "subscribe", "group": "alerts"})
    epoch = json.loads(replies.sent["c1="][-1])["epoch"]
    for n in range(3):
        assert rest(invoke, "POST", "/alert", {"title": f"t{n}", "message": "m"})[0] == 200
    _store_unreadable(dynamodb_table, "alerts", 2)
    send(invoke, "c1=", {"action": "unsubscribe", "group": "alerts"})
    emitted(capfd)
    replies.sent.clear()
    send(invoke, "c1=", {"action": "subscribe", "group": "alerts", "since": 0, "epoch": epoch})
    replayed = [json.loads(frame).get("seq") for frame in replies.sent["c1="]]
    assert 1 in replayed and 3 in replayed and 2 not in replayed
    assert {"UnreadableItems", "MessagesReplayed"} <= emitted(capfd)


# -- every face queues a publish to a large group ---------------------------------------------


def test_a_websocket_publish_to_a_large_group_is_queued(
    invoke: Invoke, replies: FakeSender, queues: dict[str, str], metrics_on: None, capfd: pytest.CaptureFixture[str]
) -> None:
    for cid in ("c1=", "c2=", "c3="):
        open_connection(invoke, cid)  # each joins admins
    emitted(capfd)
    frame = {"action": "publish", "group": "admins", "type": "Alert", "data": {"title": "t", "message": "m"}}
    send(invoke, "c1=", frame)
    reply = json.loads(replies.sent["c1="][-1])
    assert (reply["type"], reply["status"], reply["recipients"]) == ("Published", "queued", 3)
    assert {"MessagesQueued", "MessagesPublished"} <= emitted(capfd)


def test_an_ingested_publish_to_a_large_group_is_queued(
    invoke: Invoke, queues: dict[str, str], metrics_on: None, capfd: pytest.CaptureFixture[str]
) -> None:
    for cid in ("c1=", "c2=", "c3="):
        open_connection(invoke, cid)
    emitted(capfd)
    result = invoke(
        "ingest", bridge_event({"group": "admins", "type": "Alert", "data": {"title": "t", "message": "m"}})
    )
    assert result["status"] == "queued"
    assert "MessagesQueued" in emitted(capfd)
