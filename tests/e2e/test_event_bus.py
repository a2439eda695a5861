"""The EventBridge bus of the local stack, driven like AWS's: boto3's `events` client
puts "Realtime Publish" events, the ingestion rule invokes `ingest`, dashboards receive
the envelopes, and refused events land in the dead-letter queue with their reason.

The lifecycle tests at the end (class TestLifecycleEvents) check the events the hub
itself puts on the bus; they need the hub's emission (Notices in realtime/domain/departures.py) to pass.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
import pytest

from realtime.errors import ServiceUnavailable
from tests.e2e.support import Clients, rest, subscribe, token, tooling
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

SOURCE = "com.acme.billing"
PUBLISH = "Realtime Publish"


def events_client(stack: ObservedDeployment) -> Any:
    # The local stack accepts any credentials; these are placeholders, not secrets.
    return boto3.client(
        "events",
        endpoint_url=stack.events_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def entry(stack: ObservedDeployment, detail: dict[str, Any], *, source: str = SOURCE, **fields: Any) -> dict[str, Any]:
    return {
        "Source": source,
        "DetailType": PUBLISH,
        "Detail": json.dumps(detail),
        "EventBusName": stack.event_bus_name,
        **fields,
    }


async def put_events(stack: ObservedDeployment, *entries: dict[str, Any]) -> dict[str, Any]:
    """PutEvents with boto3, as a backend would (off the event loop: boto3 blocks)."""
    response: dict[str, Any] = await asyncio.to_thread(events_client(stack).put_events, Entries=list(entries))
    return response


async def put_one(stack: ObservedDeployment, detail: dict[str, Any], **fields: Any) -> str:
    response = await put_events(stack, entry(stack, detail, **fields))
    assert response["FailedEntryCount"] == 0, response
    event_id: str = response["Entries"][0]["EventId"]
    return event_id


def alert(title: str = "Disk", **extra: Any) -> dict[str, Any]:
    return {"group": "alerts", "type": "Alert", "data": {"title": title, "message": "91% full"}, **extra}


# -- ingestion ---------------------------------------------------------------------------------


async def test_a_publish_event_put_with_boto3_reaches_the_subscribers(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        dashboard = await clients.open()
        last_seq = await subscribe(dashboard, "alerts")
        event_id = await put_one(stack, alert("From the bus"))
        envelope = await dashboard.receive()
        assert (envelope["type"], envelope["group"], envelope["seq"]) == ("Alert", "alerts", last_seq + 1)
        assert envelope["data"] == {"title": "From the bus", "message": "91% full", "severity": "info"}
        [event] = [e for e in stack.events(PUBLISH) if e["id"] == event_id]
        assert set(event) == {
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        }
        assert (event["source"], event["detail"]) == (SOURCE, alert("From the bus"))


async def test_a_user_event_posted_to_the_local_route_reaches_that_user(stack: ObservedDeployment) -> None:
    user = f"user-{uuid.uuid4().hex[:8]}"
    async with Clients(stack) as clients, tooling(stack) as http:
        mine, other = await clients.open(token(user)), await clients.open()
        detail = {"userId": user, "type": "TestMessage", "data": {"message": "just you"}}
        response = await http.post("/_local/events", json={"source": SOURCE, "detail-type": PUBLISH, "detail": detail})
        assert response.status_code == 200 and response.json()["EventId"], response.text
        envelope = await mine.receive()
        assert (envelope["type"], envelope["userId"], envelope["data"]) == (
            "TestMessage",
            user,
            {"message": "just you"},
        )
        await other.expect_silence()


async def test_an_idempotency_key_publishes_once_however_often_it_is_put(stack: ObservedDeployment) -> None:
    key = f"deploy-{uuid.uuid4().hex}"
    async with Clients(stack) as clients:
        dashboard = await clients.open()
        await subscribe(dashboard, "alerts")
        await put_one(stack, alert(idempotencyKey=key))
        await put_one(stack, alert(idempotencyKey=key))
        assert (await dashboard.receive())["type"] == "Alert"
        await dashboard.expect_silence(0.5)


async def test_an_invalid_event_lands_in_the_dead_letter_queue_with_its_reason(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        dashboard = await clients.open()
        await subscribe(dashboard, "alerts")
        invalid = {"group": "alerts", "type": "Alert", "data": {"title": "no message"}}
        event_id = await put_one(stack, invalid)
        letter = await asyncio.to_thread(stack.wait_for_dead_letter, event_id)
        body = letter["body"]
        assert body["reason"] == letter["attributes"]["reason"] == "ValidationError"
        assert ["detail", "data", "message"] in [error["loc"] for error in body["errors"]]
        assert (body["event"]["id"], body["event"]["detail"]) == (event_id, invalid)
        await dashboard.expect_silence()


async def test_an_unknown_group_is_dead_lettered_and_listed_over_http(stack: ObservedDeployment) -> None:
    event_id = await put_one(stack, {"group": "nope", "type": "Alert", "data": {"title": "t", "message": "m"}})
    await asyncio.to_thread(stack.wait_for_dead_letter, event_id)
    async with tooling(stack) as http:
        letters = (await http.get("/_local/dead-letters")).json()
    [letter] = [item for item in letters if item["body"].get("event", {}).get("id") == event_id]
    assert letter["body"]["reason"] == "UnknownGroup"
    assert letter["attributes"]["eventId"] == event_id
    # Listing leaves the queue as it was.
    assert event_id in [item["body"].get("event", {}).get("id") for item in stack.dead_letters()]


async def test_an_event_the_function_keeps_failing_on_goes_to_the_queue_after_its_retries(
    stack: ObservedDeployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    from realtime.domain.publishing import Publishing

    def unavailable(*_args: object, **_kwargs: object) -> dict[str, Any]:
        raise ServiceUnavailable("DynamoDB kept throttling")

    monkeypatch.setattr(Publishing, "publish_once", unavailable)  # the functions run in this process
    event_id = await put_one(stack, alert())
    letter = await asyncio.to_thread(stack.wait_for_dead_letter, event_id)
    record = letter["body"]  # Lambda's on-failure destination record
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"]["id"] == event_id
    assert record["responsePayload"]["errorType"] == "ServiceUnavailable"


async def test_the_hubs_own_source_is_not_ingested(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        dashboard = await clients.open()
        await subscribe(dashboard, "alerts")
        event_id = await put_one(stack, alert(), source="realtime.hub")
        await dashboard.expect_silence(0.5)
        assert event_id in [event["id"] for event in stack.events(PUBLISH)]  # on the bus, matched by no rule
        assert event_id not in [item["body"].get("event", {}).get("id") for item in stack.dead_letters()]


async def test_put_events_answers_like_eventbridge(stack: ObservedDeployment) -> None:
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    response = await put_events(
        stack,
        entry(stack, {"anything": True}, DetailType="Order Shipped", Time=moment, Resources=["arn:aws:x:1"]),
        {**entry(stack, {}), "Detail": "[not an object]"},
        {**entry(stack, {}), "EventBusName": "someone-elses"},
        {k: v for k, v in entry(stack, {}).items() if k != "EventBusName"},
        entry(stack, {}, source="aws.ec2"),
    )
    assert response["FailedEntryCount"] == 4
    accepted, malformed, unknown_bus, default_bus, reserved = response["Entries"]
    assert set(accepted) == {"EventId"}
    assert malformed["ErrorCode"] == "MalformedDetail"
    assert unknown_bus["ErrorCode"] == default_bus["ErrorCode"] == "ResourceNotFoundException"
    assert reserved["ErrorCode"] == "NotAuthorizedForSourceException"
    [event] = [e for e in stack.events("Order Shipped") if e["id"] == accepted["EventId"]]
    assert (event["time"], event["resources"], event["detail"]) == (
        "2026-03-01T12:30:00Z",
        ["arn:aws:x:1"],
        {"anything": True},
    )


async def test_put_events_refuses_a_request_over_its_limits(stack: ObservedDeployment) -> None:
    headers = {"X-Amz-Target": "AWSEvents.PutEvents", "Content-Type": "application/x-amz-json-1.1"}
    one = entry(stack, {"n": 1})
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=5) as http:
        too_many = await http.post("/_aws/events", json={"Entries": [one] * 11}, headers=headers)
        too_big = await http.post(
            "/_aws/events", json={"Entries": [entry(stack, {"x": "y" * 140_000})] * 2}, headers=headers
        )
        other_api = await http.post("/_aws/events", json={}, headers={**headers, "X-Amz-Target": "AWSEvents.PutRule"})
    assert (too_many.status_code, too_many.json()["__type"]) == (400, "ValidationException")
    assert (too_big.status_code, too_big.json()["__type"]) == (400, "ValidationException")
    assert (other_api.status_code, other_api.json()["__type"]) == (400, "UnknownOperationException")


async def test_the_events_route_lists_the_bus_after_an_index_and_by_detail_type(stack: ObservedDeployment) -> None:
    mark = stack.event_count()
    marker = uuid.uuid4().hex
    await put_events(
        stack,
        entry(stack, {"marker": marker}, DetailType="Local Test A"),
        entry(stack, {"marker": marker}, DetailType="Local Test B"),
    )
    async with tooling(stack) as http:
        newer = (await http.get("/_local/events", params={"after": mark})).json()
        only_b = (await http.get("/_local/events", params={"after": mark, "detailType": "Local Test B"})).json()
    assert [item["event"]["detail-type"] for item in newer if item["event"]["detail"].get("marker") == marker] == [
        "Local Test A",
        "Local Test B",
    ]
    assert all(item["index"] > mark for item in newer)
    assert [item["event"]["detail"] for item in only_b] == [{"marker": marker}]


async def test_the_rest_api_and_the_bus_share_one_sequence(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, rest(stack) as http:
        dashboard = await clients.open()
        await subscribe(dashboard, "alerts")
        await put_one(stack, alert("bus"))
        first = await dashboard.receive()
        published = (await http.post("/alert", json={"title": "rest", "message": "m"})).json()
        second = await dashboard.receive()
        assert second["seq"] == first["seq"] + 1 == published["seq"]


# -- lifecycle events (realtime/domain/lifecycle.py, put on the bus by realtime/adapters/event_bus.py) --


class TestLifecycleEvents:
    """The hub puts these on the bus (source LIFECYCLE_SOURCE; detail shapes in
    realtime/domain/lifecycle.py)."""

    async def test_connecting_and_disconnecting(self, stack: ObservedDeployment) -> None:
        user = f"user-{uuid.uuid4().hex[:8]}"
        mark = stack.event_count()
        async with Clients(stack) as clients:
            dashboard = await clients.open(token(user))
            connection_id = clients.connection_id(dashboard)
            opened = await asyncio.to_thread(
                stack.wait_for_event, "Connection Opened", {"connectionId": connection_id}, after=mark
            )
            assert opened["source"] == "realtime.hub"
            assert opened["detail"]["userId"] == user
            assert opened["detail"]["groups"] == ["admins"]
            assert opened["detail"]["at"].endswith("Z")
            await clients.close(dashboard)
            closed = await asyncio.to_thread(
                stack.wait_for_event, "Connection Closed", {"connectionId": connection_id}, after=mark
            )
            assert {k: closed["detail"][k] for k in ("userId", "reason", "groups")} == {
                "userId": user,
                "reason": "client",
                "groups": ["admins"],
            }

    async def test_a_group_is_occupied_by_its_first_member_and_vacated_by_its_last(
        self, stack: ObservedDeployment
    ) -> None:
        group = "user-activity"  # no one joins it on connect; every test leaves it empty
        mark = stack.event_count()
        async with Clients(stack) as clients:
            first, second = await clients.open_many(2)
            first_id, second_id = clients.connection_id(first), clients.connection_id(second)
            await subscribe(first, group)
            occupied = await asyncio.to_thread(stack.wait_for_event, "Group Occupied", {"group": group}, after=mark)
            assert occupied["detail"]["connectionId"] == first_id
            await subscribe(second, group)
            reply = await first.request({"action": "unsubscribe", "group": group})
            assert reply["type"] == "Unsubscribed"
            await clients.close(second)
            vacated = await asyncio.to_thread(stack.wait_for_event, "Group Vacated", {"group": group}, after=mark)
            assert vacated["detail"]["connectionId"] == second_id
            # Strictly alternating: one occupied, one vacated, whatever happened between.
            for detail_type in ("Group Occupied", "Group Vacated"):
                flips = [e for e in stack.events(detail_type, after=mark) if e["detail"]["group"] == group]
                assert len(flips) == 1, flips

    async def test_a_connection_found_gone_by_a_delivery_is_closed_as_stale(self, stack: ObservedDeployment) -> None:
        mark = stack.event_count()
        async with Clients(stack) as clients, rest(stack) as http:
            stale = await clients.open()
            connection_id = clients.connection_id(stale)
            assert stack.vanish(connection_id)  # no $disconnect
            await stale.wait_closed()
            result = (await http.post("/broadcast/test", json={"message": "anyone there?"})).json()
            assert result["gone"] == 1
            closed = await asyncio.to_thread(
                stack.wait_for_event, "Connection Closed", {"connectionId": connection_id}, after=mark
            )
            assert closed["detail"]["reason"] == "stale"

    async def test_lifecycle_events_are_not_ingested(self, stack: ObservedDeployment) -> None:
        mark = stack.event_count()
        async with Clients(stack) as clients:
            dashboard = await clients.open()
            opened = await asyncio.to_thread(
                stack.wait_for_event,
                "Connection Opened",
                {"connectionId": clients.connection_id(dashboard)},
                after=mark,
            )
            await dashboard.expect_silence()  # nothing was published from it…
        dead = [letter["body"].get("event", {}).get("id") for letter in stack.dead_letters()]
        assert opened["id"] not in dead  # …nor refused: the ingestion rule does not match it
