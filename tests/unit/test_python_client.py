"""The Python client (clients/python) against a fake transport: what it sends, what it
retries (and with which idempotency key), batching, paging, typed errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from realtime.domain import event_types as et
from realtime_hub import (
    AsyncHub,
    Event,
    Hub,
    NotFound,
    Published,
    RateLimited,
    RetryPolicy,
    ServerError,
    ServiceUnavailable,
    TransportError,
    ValidationError,
)
from realtime_hub._core import EVENT_ROUTES

BASE = "https://hub.example/prod/api/admin/realtime"
ALERT = et.Alert(title="Disk", message="91% full", severity="warning")


def published(seq: int = 1, **extra: Any) -> dict[str, Any]:
    return {"id": f"m{seq}", "type": "Alert", "group": "alerts", "seq": seq, "recipients": 1, "delivered": 1,
            "gone": 0, "failed": 0, **extra}  # fmt: skip


Answer = httpx.Response | Exception


class Script:
    """A recorded transport: answers the requests, in order, from a list; records them."""

    def __init__(self, *answers: Answer | Callable[[httpx.Request], httpx.Response]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.answers, f"unexpected request {request.method} {request.url}"
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def keys(self) -> list[str | None]:
        return [r.headers.get("Idempotency-Key") for r in self.requests]

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def ok(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def error(status: int, code: str, message: str = "no", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message}, headers=headers)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def hub(script: Script, **options: Any) -> tuple[Hub, Sleeps]:
    sleeps = Sleeps()
    client = Hub(BASE, auth="tok", transport=httpx.MockTransport(script), sleep=sleeps, **options)
    return client, sleeps


def test_a_publish_carries_a_generated_key_and_the_models_json() -> None:
    script = Script(ok(published(7)))
    client, _ = hub(script)
    answer = client.publish(ALERT, group="ops")
    assert isinstance(answer, Published) and answer.seq == 7 and answer.delivered == 1 and not answer.queued
    request = script.requests[0]
    assert request.method == "POST" and request.url == f"{BASE}/publish"
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.headers["Idempotency-Key"]
    assert script.bodies() == [{"group": "ops", "type": "Alert",
                                "data": {"title": "Disk", "message": "91% full", "severity": "warning"}}]  # fmt: skip


def test_the_default_group_and_a_user_target() -> None:
    script = Script(ok(published()), ok(published()))
    client, _ = hub(script)
    client.publish(et.UserCountUpdate(total_users=10, active_users=2))
    client.publish(et.TestMessage(message="hi"), user_id="alice")
    assert script.bodies() == [
        {"group": "analytics", "type": "UserCountUpdate", "data": {"totalUsers": 10, "activeUsers": 2}},
        {"userId": "alice", "type": "TestMessage", "data": {"message": "hi"}},
    ]


def test_503_is_retried_after_retry_after_with_the_same_key() -> None:
    script = Script(
        error(503, "ServiceUnavailable", **{"Retry-After": "2"}), error(429, "RateLimited"), ok(published())
    )
    client, sleeps = hub(script, retry=RetryPolicy(base_delay=0.5))
    client.publish(ALERT)
    keys = script.keys()
    assert len(keys) == 3 and keys[0] and len(set(keys)) == 1  # one logical call, one key
    assert sleeps[0] == 2.0  # Retry-After honoured
    assert 0 <= sleeps[1] <= 1.0  # 429 without Retry-After: backoff (0.5 * 2**1, jittered)
    assert script.bodies()[0] == script.bodies()[2]


def test_each_logical_call_has_its_own_key_and_a_given_key_is_kept() -> None:
    script = Script(ok(published(1)), ok(published(2)), error(503, "ServiceUnavailable"), ok(published(3)))
    client, _ = hub(script)
    client.publish(ALERT)
    client.publish(ALERT)
    client.publish(ALERT, idempotency_key="deploy-42")
    keys = script.keys()
    assert keys[0] != keys[1]
    assert keys[2:] == ["deploy-42", "deploy-42"]


def test_no_answer_is_retried_only_with_a_key() -> None:
    timeout = httpx.ReadTimeout("no answer")
    script = Script(timeout, ok(published()))
    client, _ = hub(script)
    client.publish(ALERT)  # with its key: a retry cannot deliver twice
    assert len(script.requests) == 2 and len(set(script.keys())) == 1

    script = Script(httpx.ReadTimeout("no answer"))
    client, sleeps = hub(script, auto_idempotency_keys=False)
    with pytest.raises(TransportError):
        client.publish(ALERT)  # without a key the first attempt may have been published
    assert len(script.requests) == 1 and script.keys() == [None] and sleeps == []


def test_a_gateway_timeout_is_retried_only_with_a_key() -> None:
    script = Script(error(504, "ServiceUnavailable"))
    client, _ = hub(script, auto_idempotency_keys=False)
    with pytest.raises(ServerError) as raised:
        client.publish(ALERT)
    assert raised.value.status == 504 and len(script.requests) == 1

    script = Script(error(504, "ServiceUnavailable"), ok(published()))
    client, _ = hub(script)
    assert client.publish(ALERT).seq == 1 and len(set(script.keys())) == 1


def test_a_refused_connection_and_reads_are_always_retried() -> None:
    script = Script(httpx.ConnectError("refused"), ok(published()))
    client, _ = hub(script, auto_idempotency_keys=False)
    client.publish(ALERT)  # nothing was sent
    assert len(script.requests) == 2

    presence = {"group": "alerts", "connections": 2, "users": 1, "lastSeq": 9, "epoch": "e1"}
    script = Script(httpx.ReadError("reset"), error(502, "InternalError"), ok(presence))
    client, _ = hub(script)
    answer = client.presence("alerts")
    assert (answer.connections, answer.users, answer.last_seq, answer.epoch) == (2, 1, 9, "e1")
    assert len(script.requests) == 3 and script.keys() == [None, None, None]


def test_an_in_progress_conflict_on_our_own_retry_is_waited_out() -> None:
    script = Script(httpx.ReadTimeout("slow"), error(409, "IdempotencyConflict"), ok(published()))
    client, _ = hub(script)
    client.publish(ALERT)
    assert len(script.requests) == 3

    script = Script(error(409, "IdempotencyConflict", "used with another request"))
    client, _ = hub(script)
    with pytest.raises(Exception, match="IdempotencyConflict"):
        client.publish(ALERT, idempotency_key="reused")  # a first attempt's conflict is the caller's
    assert len(script.requests) == 1


def test_retries_are_bounded_and_the_last_error_is_raised() -> None:
    script = Script(*[error(503, "ServiceUnavailable", "contended", **{"Retry-After": "1"}) for _ in range(3)])
    client, sleeps = hub(script, retry=RetryPolicy(attempts=3))
    with pytest.raises(ServiceUnavailable) as raised:
        client.publish(ALERT)
    assert (raised.value.status, raised.value.code, raised.value.message) == (503, "ServiceUnavailable", "contended")
    assert raised.value.retry_after == 1.0 and sleeps == [1.0, 1.0] and len(script.requests) == 3


def test_errors_are_typed_with_code_message_and_field_errors() -> None:
    body = {"code": "ValidationError", "message": "invalid data for Alert",
            "errors": [{"loc": ["data", "message"], "msg": "Field required", "type": "missing"}]}  # fmt: skip
    script = Script(ok(body, 422), error(404, "UnknownGroup", "no group 'x'"), error(429, "RateLimited"))
    client, _ = hub(script, retry=RetryPolicy(attempts=1))
    with pytest.raises(ValidationError) as invalid:
        client.publish(ALERT)
    assert invalid.value.code == "ValidationError" and invalid.value.message == "invalid data for Alert"
    assert invalid.value.errors == body["errors"] and invalid.value.status == 422
    with pytest.raises(NotFound) as unknown:
        client.presence("x")
    assert unknown.value.code == "UnknownGroup"
    with pytest.raises(RateLimited):
        client.presence("x")


@pytest.mark.parametrize("model", list(EVENT_ROUTES))
def test_every_event_type_has_its_method_and_route(model: type[et.EventData]) -> None:
    samples: dict[type[et.EventData], et.EventData] = {
        et.PlatformStatus: et.PlatformStatus(status="degraded", services={"db": "down"}),
        et.AnalyticsUpdate: et.AnalyticsUpdate(metrics={"cpu": 0.5}),
        et.UserCountUpdate: et.UserCountUpdate(total_users=3, active_users=1),
        et.GenerationMetrics: et.GenerationMetrics(total_generations=5, average_duration_ms=2.5),
        et.RevenueUpdate: et.RevenueUpdate(total_revenue=1.5, currency="EUR"),
        et.TestMessage: et.TestMessage(message="hi"),
        et.Alert: ALERT,
        et.PerformanceAlert: et.PerformanceAlert(metric="p99", value=900, threshold=500),
        et.UserAction: et.UserAction(user_id="u1", action="login"),
        et.RoleAssignment: et.RoleAssignment(user_id="u1", role="editor", change="assigned"),
        et.SystemEvent: et.SystemEvent(event_type="deploy", message="live"),
    }
    methods = {
        et.PlatformStatus: "platform_update", et.AnalyticsUpdate: "analytics", et.UserCountUpdate: "user_count",
        et.GenerationMetrics: "generation_metrics", et.RevenueUpdate: "revenue", et.TestMessage: "test_message",
        et.Alert: "alert", et.PerformanceAlert: "performance_alert", et.UserAction: "user_action",
        et.RoleAssignment: "role_assignment", et.SystemEvent: "system_event",
    }  # fmt: skip
    data = samples[model]
    script = Script(ok(published()), ok(published()))
    client, _ = hub(script)
    getattr(client, methods[model])(data)
    asyncio.run(_async_event(script, methods[model], data))
    for request in script.requests:
        assert request.url == BASE + EVENT_ROUTES[model]
        assert json.loads(request.content) == et.normalise(data)
        assert request.headers["Idempotency-Key"]


async def _async_event(script: Script, method: str, data: et.EventData) -> None:
    async with AsyncHub(BASE, auth="tok", transport=httpx.MockTransport(script)) as client:
        await getattr(client, method)(data)


def _batch_answer(request: httpx.Request) -> httpx.Response:
    events = json.loads(request.content)["events"]
    return ok({"results": [{"status": 200, **published(int(e["data"]["message"]))} for e in events]})


def test_a_batch_is_sent_100_at_a_time_and_answered_in_order() -> None:
    events = [et.TestMessage(message=str(i)) for i in range(1, 251)]
    script = Script(_batch_answer, error(503, "ServiceUnavailable"), _batch_answer, _batch_answer)
    client, _ = hub(script)
    results = client.publish_batch([*events[:10], *(Event(data=e, group="ops") for e in events[10:])])
    assert [r.seq for r in results] == list(range(1, 251)) and all(r.ok for r in results)
    sizes = [len(body["events"]) for body in script.bodies()]
    assert sizes == [100, 100, 100, 50]  # the second chunk was retried
    keys = script.keys()
    assert keys[1] == keys[2] and len({keys[0], keys[1], keys[3]}) == 3  # a key per chunk, kept on retry
    assert script.bodies()[0]["events"][0] == {"group": "admins", "type": "TestMessage", "data": {"message": "1"}}
    assert script.bodies()[0]["events"][10]["group"] == "ops"


def test_a_batch_with_a_key_derives_one_per_chunk_and_reports_failures_in_place() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        failed = {"status": 422, "code": "ValidationError", "message": "bad", "errors": [{"loc": ["events", 0]}]}
        return ok(
            {"results": [failed, *({"status": 202, "queued": True, **published(i)} for i in range(len(events) - 1))]}
        )

    script = Script(answer, answer)
    client, _ = hub(script)
    results = client.publish_batch([et.TestMessage(message="x")] * 101, idempotency_key="nightly")
    assert script.keys() == ["nightly#0", "nightly#1"]
    assert len(results) == 101 and not results[0].ok and results[0].code == "ValidationError"
    assert results[1].ok and results[1].queued and results[100].code == "ValidationError"


def _history(pages: dict[int, tuple[list[int], int | None]]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        seqs, following = pages[int(request.url.params["after"])]
        items = [{"type": "TestMessage", "group": "g", "id": f"m{s}", "seq": s, "epoch": "e", "ts": "t",
                  "data": {"message": str(s)}} for s in seqs]  # fmt: skip
        return ok({"items": items, "next": following})

    return answer


def test_history_pages_until_next_is_null() -> None:
    pages = {5: ([6, 7], 7), 7: ([8], 8), 8: ([], None)}
    script = Script(*[_history(pages)] * 3)
    client, _ = hub(script)
    seen: Iterator[int] = (e.seq for e in client.history("g", after=5, page_size=2))
    assert list(seen) == [6, 7, 8]
    assert [r.url.params["after"] for r in script.requests] == ["5", "7", "8"]
    assert script.requests[0].url.path == "/prod/api/admin/realtime/groups/g/history"


def test_wait_until_done_polls_a_queued_fanout() -> None:
    queued = {"id": "m1", "group": "admins", "seq": 3, "status": "queued", "recipients": 900}
    done = {**queued, "status": "done", "delivered": 899, "gone": 1, "failed": 0, "slices": 2, "slicesDone": 2,
            "done": True}  # fmt: skip
    script = Script(ok(published(3, status="queued", recipients=900), 202), ok(queued), ok(done))
    client, sleeps = hub(script)
    answer = client.publish(ALERT)
    assert answer.queued
    progress = client.wait_until_done(answer, interval=0.25)
    assert progress.done and progress.delivered == 899 and progress.slices_done == 2 and sleeps == [0.25]
    assert script.requests[-1].url.path.endswith("/messages/m3")


def test_path_parameters_are_encoded() -> None:
    script = Script(ok({"userId": "a/b", "closed": []}))
    client, _ = hub(script)
    client.close_user_connections("a/b")
    assert script.requests[0].method == "DELETE"
    assert script.requests[0].url.raw_path == b"/prod/api/admin/realtime/users/a%2Fb/connections"


def test_the_async_client_retries_batches_and_pages_the_same_way() -> None:
    pages = {0: ([1, 2], 2), 2: ([], None)}
    script = Script(
        httpx.ReadTimeout("slow"), ok(published()), _batch_answer, _batch_answer, _history(pages), _history(pages)
    )
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def scenario() -> None:
        async with AsyncHub(BASE, auth="tok", transport=httpx.MockTransport(script), sleep=sleep) as client:
            await client.publish(ALERT)
            results = await client.publish_batch([et.TestMessage(message=str(i)) for i in range(1, 151)])
            assert [r.seq for r in results] == list(range(1, 151))
            assert [e.seq async for e in client.history("g")] == [1, 2]

    asyncio.run(scenario())
    keys = script.keys()
    assert keys[0] == keys[1] and len(sleeps) == 1
    assert [len(b["events"]) for b in script.bodies()[2:4]] == [100, 50]


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    from realtime_hub._core import retry_after

    def answer(**headers: str) -> httpx.Response:
        return httpx.Response(503, headers=headers)

    assert retry_after(answer(**{"Retry-After": "3"})) == 3.0
    assert retry_after(answer(**{"Retry-After": "0.5"})) == 0.5
    dated = answer(**{"Retry-After": "Wed, 02 Dec 2026 10:00:07 GMT", "Date": "Wed, 02 Dec 2026 10:00:00 GMT"})
    assert retry_after(dated) == 7.0
    assert retry_after(answer(**{"Retry-After": "soon"})) is None
    assert retry_after(answer()) is None


def test_the_clients_cover_every_route_of_the_openapi_document() -> None:
    """Every operation of docs/openapi.json is reachable through a method of both clients."""
    from pathlib import Path

    document = json.loads((Path(__file__).resolve().parents[2] / "docs" / "openapi.json").read_text())
    prefix = "/api/admin/realtime"
    declared = {
        (method.upper(), path.removeprefix(prefix)) for path, item in document["paths"].items() for method in item
    }
    declared.add(("GET", "/openapi.json"))  # the document itself (the route table of docs/protocol.md)

    def answer(request: httpx.Request) -> httpx.Response:
        groups: Any = [] if request.url.path.endswith("/groups") else {}
        body: dict[str, Any] = {**published(), "items": [], "next": None, "groups": groups, "results": [],
                                "status": "done", "done": True, "connections": 0, "users": 0, "lastSeq": 0,
                                "group": "g", "userId": "u", "roles": []}  # fmt: skip
        return httpx.Response(200, json=body)

    templates = {"/groups/g": "/groups/{group}", "/groups/g/history": "/groups/{group}/history",
                 "/messages/m": "/messages/{message_id}", "/connections/c": "/connections/{connection_id}",
                 "/users/u/connections": "/users/{user_id}/connections"}  # fmt: skip

    def exercise(client: Any) -> list[Any]:
        alert = et.Alert(title="t", message="m")
        return [
            client.health(), client.status(), client.me(), client.platform_snapshot(), client.openapi(),
            client.platform_update(et.PlatformStatus(status="healthy")),
            client.user_count(et.UserCountUpdate(total_users=1, active_users=1)),
            client.generation_metrics(et.GenerationMetrics(total_generations=1)),
            client.revenue(et.RevenueUpdate(total_revenue=1, currency="EUR")),
            client.analytics(et.AnalyticsUpdate(metrics={"a": 1})), client.test_message(et.TestMessage(message="m")),
            client.alert(alert), client.alert_warning(alert), client.alert_error(alert),
            client.performance_alert(et.PerformanceAlert(metric="m", value=1, threshold=1)),
            client.user_action(et.UserAction(user_id="u", action="a")),
            client.role_assignment(et.RoleAssignment(user_id="u", role="r", change="assigned")),
            client.system_event(et.SystemEvent(event_type="e", message="m")), client.publish(alert),
            client.groups(), client.presence("g"), client.history_page("g"), client.message("m"),
            client.close_connection("c"), client.close_user_connections("u"),
        ]  # fmt: skip

    script = Script(*[answer] * 60)
    client, _ = hub(script)
    exercise(client)

    async def asynchronous() -> None:
        async with AsyncHub(BASE, auth="t", transport=httpx.MockTransport(script)) as client:
            await asyncio.gather(*exercise(client))

    asyncio.run(asynchronous())
    called = [
        (r.method, templates.get(p, p)) for r in script.requests for p in [r.url.path.removeprefix("/prod" + prefix)]
    ]
    half = len(called) // 2
    assert set(called[:half]) == declared and set(called[half:]) == declared
