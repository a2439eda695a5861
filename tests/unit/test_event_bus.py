"""The EventBridge notifier against a fake client: chunking, the entries it builds, and
what it does when the bus fails (retry what can succeed, count the rest, never raise)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from realtime.adapters.event_bus import (
    MAX_REQUEST_BYTES,
    EventBridgeNotifier,
    chunks,
    entry_size,
    lifecycle_notifier,
)
from realtime.config import HubSettings
from realtime.domain.lifecycle import ConnectionClosed, ConnectionOpened, GroupOccupied, GroupVacated, LifecycleEvent
from realtime.observability import metrics
from tests.fakes import FakeClock

BUS = "realtime-bus"
SOURCE = "realtime.hub"
AT = "2026-01-01T10:00:00.123Z"


class FakeEventsClient:
    """Records every PutEvents call. `script` answers the calls in order: a callable
    (entries → response, or raises), or nothing left → every entry accepted."""

    def __init__(self, *script: Any) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.script = list(script)

    def put_events(self, *, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([dict(entry) for entry in Entries])
        if self.script:
            return self.script.pop(0)(Entries)
        return accept_all(Entries)

    @property
    def put(self) -> list[dict[str, Any]]:
        return [entry for call in self.calls for entry in call]


def accept_all(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"id-{i}"} for i in range(len(entries))]}


def fail_entries(indexes: set[int], code: str = "ThrottlingException") -> Any:
    def answer(entries: list[dict[str, Any]]) -> dict[str, Any]:
        results: list[dict[str, Any]] = [
            {"ErrorCode": code, "ErrorMessage": "nope"} if i in indexes else {"EventId": f"id-{i}"}
            for i in range(len(entries))
        ]
        return {"FailedEntryCount": len(indexes), "Entries": results}

    return answer


def raise_client_error(code: str, status: int) -> Any:
    def answer(_entries: list[dict[str, Any]]) -> dict[str, Any]:
        raise ClientError(
            {"Error": {"Code": code, "Message": "boom"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutEvents"
        )

    return answer


def raise_network_error(_entries: list[dict[str, Any]]) -> dict[str, Any]:
    raise EndpointConnectionError(endpoint_url="https://events.example.invalid")


def opened(n: int = 0) -> ConnectionOpened:
    return ConnectionOpened(connection_id=f"c{n}", user_id="alice", groups=["admins"], at=AT)


@pytest.fixture(autouse=True)
def recorded_metrics() -> Iterator[dict[str, Any]]:
    metrics.clear_metrics()
    yield metrics.metric_set
    metrics.clear_metrics()


def failed_count(recorded: dict[str, Any]) -> float:
    metric = recorded.get("LifecycleEventsFailed")
    return sum(metric["Value"]) if metric else 0


def notifier(client: FakeEventsClient, clock: FakeClock | None = None, max_attempts: int = 3) -> EventBridgeNotifier:
    return EventBridgeNotifier(client, BUS, SOURCE, clock=clock or FakeClock(), max_attempts=max_attempts)


# -- the entries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "detail"),
    [
        (opened(), {"connectionId": "c0", "userId": "alice", "groups": ["admins"], "at": AT}),
        (
            ConnectionClosed(connection_id="c1", user_id="bob", reason="stale", groups=[], at=AT),
            {"connectionId": "c1", "userId": "bob", "reason": "stale", "groups": [], "at": AT},
        ),
        (
            GroupOccupied(group="alerts", connection_id="c2", at=AT),
            {"group": "alerts", "connectionId": "c2", "at": AT},
        ),
        (
            GroupVacated(group="alerts", connection_id="c2", at=AT),
            {"group": "alerts", "connectionId": "c2", "at": AT},
        ),
    ],
)
def test_each_event_is_one_entry_on_the_bus(event: LifecycleEvent, detail: dict[str, Any]) -> None:
    client = FakeEventsClient()
    notifier(client).notify([event])
    [[entry]] = client.calls
    assert entry["Source"] == SOURCE
    assert entry["EventBusName"] == BUS
    assert entry["DetailType"] == event.DETAIL_TYPE
    assert json.loads(entry["Detail"]) == detail
    assert entry["Time"] == datetime(2026, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)


def test_nothing_to_publish_makes_no_call() -> None:
    client = FakeEventsClient()
    notifier(client).notify([])
    assert client.calls == []


def test_entries_go_ten_per_request_in_order() -> None:
    client = FakeEventsClient()
    events = [opened(n) for n in range(25)]
    notifier(client).notify(events)
    assert [len(call) for call in client.calls] == [10, 10, 5]
    assert [json.loads(entry["Detail"])["connectionId"] for entry in client.put] == [f"c{n}" for n in range(25)]


def test_a_request_never_exceeds_256_kb() -> None:
    client = FakeEventsClient()
    # 100 KB of group names each: two fit in one request, a third does not.
    big = [ConnectionOpened(connection_id=f"c{n}", user_id="u", groups=["g" * 100_000], at=AT) for n in range(5)]
    notifier(client).notify(big)
    assert [len(call) for call in client.calls] == [2, 2, 1]
    for call in client.calls:
        assert sum(entry_size(entry) for entry in call) <= MAX_REQUEST_BYTES


def test_entry_size_counts_what_aws_counts() -> None:
    entry = {"Source": "ab", "DetailType": "cde", "Detail": '{"x":1}', "EventBusName": "ignored", "Time": 1}
    assert entry_size(entry) == 14 + 2 + 3 + 7
    assert entry_size({**entry, "Time": None, "Resources": ["arn:1"]}) == 2 + 3 + 7 + 5
    assert list(chunks([])) == []


def test_an_entry_too_large_for_any_request_is_counted_not_sent() -> None:
    client = FakeEventsClient()
    huge = ConnectionOpened(connection_id="c", user_id="u", groups=["g" * MAX_REQUEST_BYTES], at=AT)
    notifier(client).notify([huge, opened(1)])
    assert [json.loads(entry["Detail"])["connectionId"] for entry in client.put] == ["c1"]


def test_the_failure_of_an_oversized_entry_is_counted(recorded_metrics: dict[str, Any]) -> None:
    huge = ConnectionOpened(connection_id="c", user_id="u", groups=["g" * MAX_REQUEST_BYTES], at=AT)
    notifier(FakeEventsClient()).notify([huge])
    assert failed_count(recorded_metrics) == 1


# -- failures -----------------------------------------------------------------------------------


def test_throttled_entries_alone_are_retried_after_a_jittered_backoff(recorded_metrics: dict[str, Any]) -> None:
    clock = FakeClock()
    client = FakeEventsClient(fail_entries({1, 3}))
    notifier(client, clock).notify([opened(n) for n in range(4)])
    assert [len(call) for call in client.calls] == [4, 2]
    assert [json.loads(entry["Detail"])["connectionId"] for entry in client.calls[1]] == ["c1", "c3"]
    assert len(clock.sleeps) == 1 and 0.025 <= clock.sleeps[0] <= 0.05
    assert failed_count(recorded_metrics) == 0


def test_entries_still_failing_after_every_attempt_are_counted_and_logged(
    recorded_metrics: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    client = FakeEventsClient(fail_entries({0}), fail_entries({0}), fail_entries({0}))
    notifier(client, clock, max_attempts=3).notify([opened(0), opened(1)])  # never raises
    assert [len(call) for call in client.calls] == [2, 1, 1]
    assert len(clock.sleeps) == 2
    assert clock.sleeps[1] >= clock.sleeps[0] / 2  # the ceiling doubles
    assert failed_count(recorded_metrics) == 1
    assert "lifecycle events not put on the bus" in caplog.text


def test_a_permanent_entry_error_is_not_retried(recorded_metrics: dict[str, Any]) -> None:
    clock = FakeClock()
    client = FakeEventsClient(fail_entries({0}, code="AccessDeniedException"))
    notifier(client, clock).notify([opened(0), opened(1)])
    assert len(client.calls) == 1
    assert clock.sleeps == []
    assert failed_count(recorded_metrics) == 1


def test_permanent_and_throttled_failures_in_one_response() -> None:
    client = FakeEventsClient(
        lambda entries: {
            "FailedEntryCount": 2,
            "Entries": [
                {"ErrorCode": "MalformedDetail", "ErrorMessage": "bad"},
                {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
                {"EventId": "ok"},
            ],
        }
    )
    notifier(client).notify([opened(0), opened(1), opened(2)])
    assert [json.loads(entry["Detail"])["connectionId"] for entry in client.calls[1]] == ["c1"]


@pytest.mark.parametrize(
    "failure",
    [raise_client_error("ThrottlingException", 400), raise_client_error("InternalFailure", 500), raise_network_error],
)
def test_a_failed_call_that_may_succeed_is_retried(failure: Any, recorded_metrics: dict[str, Any]) -> None:
    client = FakeEventsClient(failure)
    notifier(client).notify([opened(0), opened(1)])
    assert [len(call) for call in client.calls] == [2, 2]
    assert failed_count(recorded_metrics) == 0


def test_a_call_that_keeps_failing_is_counted_never_raised(recorded_metrics: dict[str, Any]) -> None:
    client = FakeEventsClient(*[raise_network_error] * 3)
    notifier(client, max_attempts=3).notify([opened(0), opened(1)])
    assert len(client.calls) == 3
    assert failed_count(recorded_metrics) == 2


@pytest.mark.parametrize(("code", "status"), [("AccessDeniedException", 400), ("ResourceNotFoundException", 400)])
def test_a_call_refused_for_good_is_not_retried(code: str, status: int, recorded_metrics: dict[str, Any]) -> None:
    client = FakeEventsClient(raise_client_error(code, status))
    notifier(client).notify([opened(0)])
    assert len(client.calls) == 1
    assert failed_count(recorded_metrics) == 1


def test_one_failed_chunk_does_not_stop_the_next() -> None:
    client = FakeEventsClient(raise_client_error("AccessDeniedException", 400))
    notifier(client).notify([opened(n) for n in range(12)])
    assert [len(call) for call in client.calls] == [10, 2]


# -- configuration ------------------------------------------------------------------------------


def settings(**environment: str) -> HubSettings:
    return HubSettings.from_env(
        {"TABLE_NAME": "t-1", "WEBSOCKET_CALLBACK_URL": "https://example.invalid/x", **environment}
    )


def test_no_bus_configured_means_no_events() -> None:
    assert lifecycle_notifier(settings()) is None


def test_a_configured_bus_gets_the_configured_source() -> None:
    client = FakeEventsClient()
    configured = lifecycle_notifier(settings(EVENT_BUS_NAME="ops-bus", LIFECYCLE_SOURCE="acme.realtime"), client)
    assert isinstance(configured, EventBridgeNotifier)
    configured.notify([opened()])
    [[entry]] = client.calls
    assert (entry["EventBusName"], entry["Source"]) == ("ops-bus", "acme.realtime")


def test_the_real_client_is_built_at_first_use_for_the_region_from_the_environment() -> None:
    configured = lifecycle_notifier(settings(EVENT_BUS_NAME="ops-bus"))
    assert isinstance(configured, EventBridgeNotifier)
    assert configured._client._client is None  # not at cold start: most invocations emit nothing
    assert configured._client.meta.region_name == os.environ["AWS_DEFAULT_REGION"]
    assert configured._client.meta.service_model.service_name == "events"


def test_even_an_unexpected_error_is_counted_not_raised(recorded_metrics: dict[str, Any]) -> None:
    def broken(_entries: list[dict[str, Any]]) -> dict[str, Any]:
        raise RuntimeError("a bug in a library")

    notifier(FakeEventsClient(broken)).notify([opened(0), opened(1)])
    assert failed_count(recorded_metrics) == 2
