"""The EventBridge ingestion handler with EventBridge's events, over moto's DynamoDB and
SQS (the dead-letter queue): published like REST publishes, or dead-lettered with the
reason, never dropped."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from local.tools.tokens import mint_token
from realtime.domain.publishing import Publishing
from realtime.errors import ServiceUnavailable
from tests.fakes import FakeSender
from tests.integration.conftest import Invoke
from tests.integration.events import action_event, authorizer_event, connect_event

SOURCE = "com.acme.billing"
DETAIL_TYPE = "Realtime Publish"


@pytest.fixture
def dead_letter_queue(function_env: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ingestion's dead-letter queue in moto, named in the function's environment."""
    url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="realtime-ingest-dlq")["QueueUrl"]
    monkeypatch.setenv("INGEST_DEAD_LETTER_QUEUE_URL", url)
    return str(url)


@pytest.fixture
def ingest(invoke: Invoke, dead_letter_queue: str) -> Invoke:
    return invoke


def bridge_event(detail: Any, *, source: str = SOURCE, detail_type: str = DETAIL_TYPE, **fields: Any) -> dict[str, Any]:
    """An event as an EventBridge rule delivers it to its Lambda target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": "123456789012",
        "time": "2026-11-26T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
        **fields,
    }


def alert(group: str = "alerts", **extra: Any) -> dict[str, Any]:
    return {"group": group, "type": "Alert", "data": {"title": "Disk", "message": "91% full"}, **extra}


def dashboard(invoke: Invoke, connection_id: str, *groups: str, user: str = "alice") -> None:
    policy = invoke("authorizer", authorizer_event(connection_id, mint_token(user, ["admin"])))
    invoke("connect", connect_event(connection_id, policy["context"], policy["principalId"]))
    for group in groups:
        invoke("message", action_event(connection_id, {"action": "subscribe", "group": group}))


def frames(replies: FakeSender, connection_id: str, frame_type: str) -> list[dict[str, Any]]:
    return [m for m in (json.loads(f) for f in replies.sent[connection_id]) if m.get("type") == frame_type]


def dead_letters(queue_url: str) -> list[dict[str, Any]]:
    """Every message in the queue: {"body": <parsed>, "attributes": {name: value}}."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    found: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        messages = response.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
            found.append({"body": json.loads(message["Body"]), "attributes": attributes})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


# -- published ----------------------------------------------------------------------------------


def test_a_group_event_is_published_to_the_group(ingest: Invoke, replies: FakeSender, dead_letter_queue: str) -> None:
    dashboard(ingest, "c1", "alerts")
    result = ingest("ingest", bridge_event(alert()))
    assert result["status"] == "published"
    assert {k: result[k] for k in ("type", "group", "seq", "recipients", "delivered", "gone")} == {
        "type": "Alert",
        "group": "alerts",
        "seq": 1,
        "recipients": 1,
        "delivered": 1,
        "gone": 0,
    }
    [envelope] = frames(replies, "c1", "Alert")
    assert envelope["id"] == result["id"]
    assert envelope["group"] == "alerts"
    assert envelope["data"] == {"title": "Disk", "message": "91% full", "severity": "info"}  # normalised like REST
    assert dead_letters(dead_letter_queue) == []


def test_a_user_event_reaches_every_connection_of_that_user(ingest: Invoke, replies: FakeSender) -> None:
    dashboard(ingest, "c1", user="alice")
    dashboard(ingest, "c2", user="alice")
    dashboard(ingest, "c3", user="bob")
    detail = {"userId": "alice", "type": "TestMessage", "data": {"message": "just for you"}}
    result = ingest("ingest", bridge_event(detail))
    assert (result["status"], result["userId"], result["recipients"], result["delivered"]) == (
        "published",
        "alice",
        2,
        2,
    )
    for connection_id in ("c1", "c2"):
        [envelope] = frames(replies, connection_id, "TestMessage")
        assert (envelope["userId"], envelope["data"]) == ("alice", {"message": "just for you"})
    assert frames(replies, "c3", "TestMessage") == []


def test_a_redelivered_event_is_published_once(ingest: Invoke, replies: FakeSender) -> None:
    dashboard(ingest, "c1", "alerts")
    event = bridge_event(alert())
    first = ingest("ingest", event)
    again = ingest("ingest", json.loads(json.dumps(event)))  # EventBridge delivers at least once
    assert again == first
    assert len(frames(replies, "c1", "Alert")) == 1


def test_an_idempotency_key_in_the_detail_spans_events(ingest: Invoke, replies: FakeSender) -> None:
    dashboard(ingest, "c1", "alerts")
    first = ingest("ingest", bridge_event(alert(idempotencyKey="deploy-42")))
    retried = ingest("ingest", bridge_event(alert(idempotencyKey="deploy-42")))  # a new event id
    assert retried == first
    assert len(frames(replies, "c1", "Alert")) == 1


def test_keys_are_scoped_per_source(ingest: Invoke, replies: FakeSender) -> None:
    dashboard(ingest, "c1", "alerts")
    one = ingest("ingest", bridge_event(alert(idempotencyKey="k"), source="com.acme.billing"))
    other = ingest("ingest", bridge_event(alert(idempotencyKey="k"), source="com.acme.shipping"))
    assert (one["seq"], other["seq"]) == (1, 2)
    assert len(frames(replies, "c1", "Alert")) == 2


def test_the_source_publishes_with_the_hubs_publish_role(
    ingest: Invoke, replies: FakeSender, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever the publish role is called, the bus's events carry it: access to the bus
    # is IAM's to control.
    monkeypatch.setenv("PUBLISH_ROLE", "publisher")
    result = ingest("ingest", bridge_event(alert()))
    assert result["status"] == "published"


def test_an_extra_event_field_such_as_a_replay_name_is_accepted(ingest: Invoke) -> None:
    result = ingest("ingest", bridge_event(alert(), **{"replay-name": "archive-replay"}))
    assert result["status"] == "published"


# -- dead-lettered ------------------------------------------------------------------------------


def test_an_invalid_detail_goes_to_the_dead_letter_queue_whole(
    ingest: Invoke, replies: FakeSender, dead_letter_queue: str
) -> None:
    dashboard(ingest, "c1", "alerts")
    event = bridge_event({"group": "alerts", "type": "Alert", "data": {"title": "no message"}})
    result = ingest("ingest", event)
    assert (result["status"], result["reason"]) == ("rejected", "ValidationError")
    assert frames(replies, "c1", "Alert") == []
    [letter] = dead_letters(dead_letter_queue)
    body = letter["body"]
    assert body["reason"] == "ValidationError"
    assert body["event"] == event  # the original event, as it arrived
    assert body["message"]
    assert ["detail", "data", "message"] in [error["loc"] for error in body["errors"]]
    assert letter["attributes"] == {
        "reason": "ValidationError",
        "source": SOURCE,
        "detailType": DETAIL_TYPE,
        "eventId": event["id"],
    }


@pytest.mark.parametrize(
    ("detail", "reason", "loc"),
    [
        (alert(group="nope"), "UnknownGroup", None),
        ({"group": "alerts", "type": "Bogus", "data": {}}, "ValidationError", None),
        ({"type": "Alert", "data": {"title": "t", "message": "m"}}, "ValidationError", None),
        (alert(userId="alice"), "ValidationError", None),
        ({**alert(), "extra": 1}, "ValidationError", ["detail", "extra"]),
        ({"group": "alerts", "type": "Alert"}, "ValidationError", ["detail", "data"]),
        ("not an object", "ValidationError", None),
        (alert(idempotencyKey=""), "ValidationError", ["detail", "idempotencyKey"]),
        (
            {
                "group": "analytics",
                "type": "AnalyticsUpdate",
                "data": {"metrics": {f"m{n:03d}" + "x" * 250: 1.0 for n in range(600)}},
            },
            "PayloadTooLarge",
            None,
        ),
    ],
    ids=[
        "unknown-group",
        "unknown-type",
        "no-target",
        "two-targets",
        "unknown-field",
        "no-data",
        "not-an-object",
        "empty-key",
        "too-large",
    ],
)
def test_an_event_that_cannot_be_published_is_dead_lettered(
    ingest: Invoke, dead_letter_queue: str, detail: Any, reason: str, loc: list[str] | None
) -> None:
    event = bridge_event(detail)
    result = ingest("ingest", event)
    assert (result["status"], result["reason"]) == ("rejected", reason)
    [letter] = dead_letters(dead_letter_queue)
    assert letter["body"]["reason"] == letter["attributes"]["reason"] == reason
    assert letter["body"]["event"] == event
    if loc is not None:
        assert loc in [error["loc"] for error in letter["body"]["errors"]]


def test_a_key_reused_with_another_request_is_dead_lettered(ingest: Invoke, dead_letter_queue: str) -> None:
    ingest("ingest", bridge_event(alert(idempotencyKey="k")))
    changed = alert(idempotencyKey="k")
    changed["data"] = {"title": "Disk", "message": "95% full"}
    result = ingest("ingest", bridge_event(changed))
    assert (result["status"], result["reason"]) == ("rejected", "IdempotencyConflict")
    assert [letter["body"]["reason"] for letter in dead_letters(dead_letter_queue)] == ["IdempotencyConflict"]


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (bridge_event(alert(), source="realtime.hub"), "Forbidden"),  # the lifecycle source
        (bridge_event(alert(), detail_type="Something Else"), "ValidationError"),
        ({"detail": alert()}, "ValidationError"),  # not an EventBridge event at all
    ],
    ids=["lifecycle-source", "other-detail-type", "not-eventbridge"],
)
def test_events_that_are_not_publish_events_are_dead_lettered(
    ingest: Invoke, dead_letter_queue: str, event: dict[str, Any], reason: str
) -> None:
    result = ingest("ingest", event)
    assert (result["status"], result["reason"]) == ("rejected", reason)
    [letter] = dead_letters(dead_letter_queue)
    assert (letter["body"]["reason"], letter["body"]["event"]) == (reason, event)


def test_a_refusal_is_logged_and_counted(
    ingest: Invoke,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    event = bridge_event(alert(group="nope"))
    ingest("ingest", event)
    emf = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    names = {m["Name"] for doc in emf for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert "IngestRejected" in names
    [record] = [r for r in caplog.records if r.getMessage() == "event refused: sent to the dead-letter queue"]
    logged = vars(record)
    assert (logged["reason"], logged["event_id"], logged["source"]) == ("UnknownGroup", event["id"], SOURCE)


# -- transient failures raise (Lambda retries, then its on-failure destination) -----------------


def test_a_transient_publish_failure_fails_the_invocation(
    ingest: Invoke, dead_letter_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_args: object, **_kwargs: object) -> dict[str, Any]:
        raise ServiceUnavailable("DynamoDB kept throttling")

    monkeypatch.setattr(Publishing, "publish_once", unavailable)
    with pytest.raises(ServiceUnavailable):
        ingest("ingest", bridge_event(alert()))
    assert dead_letters(dead_letter_queue) == []


def test_an_unavailable_dead_letter_queue_fails_the_invocation(ingest: Invoke, dead_letter_queue: str) -> None:
    boto3.client("sqs", region_name="us-east-1").delete_queue(QueueUrl=dead_letter_queue)
    with pytest.raises(ServiceUnavailable, match="dead-letter queue"):
        ingest("ingest", bridge_event(alert(group="nope")))
