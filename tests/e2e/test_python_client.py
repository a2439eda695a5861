"""The Python client (clients/python) against the local stack: every kind of call over
real HTTP, idempotent retries answered by the hub itself, batching, paging, typed errors,
and the resuming WebSocket subscriber."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from realtime.domain import event_types as et
from realtime_hub import (
    AsyncHub,
    Event,
    Forbidden,
    Hub,
    NotFound,
    Subscriber,
    Unauthorized,
    ValidationError,
)
from tests.e2e.support import Clients, subscribe, token
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e


def hub(stack: ObservedDeployment, jwt: str | None = None) -> AsyncHub:
    return AsyncHub(stack.rest_url, auth=jwt if jwt is not None else token("py-backend"), timeout=10)


async def test_a_published_model_reaches_a_subscriber_once_per_key(
    stack: ObservedDeployment,
) -> None:
    async with Clients(stack) as clients, hub(stack) as client:
        dashboard = await clients.open()
        last = await subscribe(dashboard, "alerts")
        alert = et.Alert(title="Disk", message="91% full", severity="warning", source="node-3")
        key = f"disk-{uuid.uuid4()}"
        first = await client.publish(alert, idempotency_key=key)
        assert (first.group, first.seq, first.recipients, first.delivered) == ("alerts", last + 1, 1, 1)
        envelope = await dashboard.receive()
        assert envelope["id"] == first.id and envelope["data"] == et.normalise(alert)

        again = await client.publish(alert, idempotency_key=key)  # the same key: the first answer
        assert (again.id, again.seq) == (first.id, first.seq)
        await dashboard.expect_silence()
        other = await client.publish(alert)  # a new logical call: a new generated key
        assert other.seq == last + 2 and (await dashboard.receive())["id"] == other.id


async def test_a_retried_call_reuses_its_key_so_the_hub_delivers_once(stack: ObservedDeployment) -> None:
    """The first attempt is published, its answer is lost; the client's retry carries the
    same key and gets the first answer back from the hub."""
    import httpx

    lost = {"done": False}

    class LoseFirstAnswer(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()
            self.keys: list[str | None] = []

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.keys.append(request.headers.get("Idempotency-Key"))
            response = await self.inner.handle_async_request(request)
            if not lost["done"]:
                lost["done"] = True
                await response.aread()
                raise httpx.ReadError("the answer was lost")
            return response

        async def aclose(self) -> None:
            await self.inner.aclose()

    transport = LoseFirstAnswer()
    async with (
        Clients(stack) as clients,
        AsyncHub(stack.rest_url, auth=token("py-retry"), transport=transport) as client,
    ):
        dashboard = await clients.open()
        last = await subscribe(dashboard, "user-activity")
        answer = await client.user_action(et.UserAction(user_id="u-17", action="login", details={"ip": "203.0.113.7"}))
        assert answer.seq == last + 1
        assert len(transport.keys) == 2 and transport.keys[0] is not None and transport.keys[0] == transport.keys[1]
        envelope = await dashboard.receive()
        assert envelope["seq"] == last + 1 and envelope["type"] == "UserAction"
        await dashboard.expect_silence()  # delivered once


def test_the_sync_client_batches_pages_and_reads(stack: ObservedDeployment) -> None:
    group = "analytics"
    with Hub(stack.rest_url, auth=token("py-sync")) as client:
        before = client.presence(group).last_seq
        events = [Event(data=et.UserCountUpdate(total_users=i, active_users=0), group=group) for i in range(1, 151)]
        results = client.publish_batch([*events, Event(data=et.TestMessage(message="nowhere"), group="no-such-group")])
        assert len(results) == 151
        assert [r.seq for r in results[:150]] == list(range(before + 1, before + 151))
        assert all(r.status == 200 for r in results[:150])
        assert (results[150].status, results[150].code, results[150].ok) == (404, "UnknownGroup", False)

        history = list(client.history(group, after=before, page_size=40))
        assert [e.seq for e in history] == list(range(before + 1, before + 151))
        assert [e.data["totalUsers"] for e in history] == list(range(1, 151))

        presence = client.presence(group)
        assert presence.last_seq == before + 150 and presence.group == group
        snapshot = client.platform_snapshot()
        assert snapshot.latest["UserCountUpdate"].seq == before + 150
        assert group in snapshot.groups
        me = client.me()
        assert me.user_id == "py-sync" and me.can_publish
        assert client.health() == {"status": "healthy"}
        assert client.openapi()["openapi"].startswith("3.")
        warned = client.alert_warning(et.Alert(title="Disk", message="91%", severity="info"))
        assert [e.data["severity"] for e in client.history("alerts", after=warned.seq - 1)] == ["warning"]
        assert {p.group for p in client.groups()} >= {"alerts", "analytics", "admins", "user-activity"}


async def test_refusals_are_typed_exceptions_with_the_hubs_code(stack: ObservedDeployment) -> None:
    async with hub(stack) as client:
        with pytest.raises(NotFound) as unknown:
            await client.publish(et.TestMessage(message="x"), group="no-such-group")
        assert unknown.value.code == "UnknownGroup" and unknown.value.status == 404
        # A model built without validation: the server's own validation answers, field by field.
        with pytest.raises(ValidationError) as invalid:
            await client.alert(et.Alert.model_construct(title="t", message=" ", severity="info"))
        assert invalid.value.code == "ValidationError"
        assert [e["loc"] for e in invalid.value.errors] == [["body", "message"]]
        with pytest.raises(NotFound) as message:
            await client.message("no-such-message")
        assert message.value.code == "UnknownMessage"
    async with hub(stack, "not-a-jwt") as client:
        with pytest.raises(Unauthorized) as unauthorized:
            await client.me()
        assert unauthorized.value.code == "Unauthorized"
    async with hub(stack, token("reader", roles=())) as client:
        with pytest.raises(Forbidden):
            await client.test_message(et.TestMessage(message="x"))


async def test_the_subscriber_resumes_after_the_hub_closes_its_connection(stack: ObservedDeployment) -> None:
    user = f"py-sub-{uuid.uuid4().hex[:8]}"
    reports: list[str] = []
    async with hub(stack) as client:
        start = (await client.presence("alerts")).last_seq
        subscriber = Subscriber(
            stack.ws_url, ["alerts"], token=token(user), hub=client, since=start, report=reports.append
        )
        stream = aiter(subscriber)
        received: list[int] = []

        async def publish(count: int) -> None:
            for i in range(count):
                await client.alert(et.Alert(title="t", message=f"m{i}"))

        await publish(2)  # before the subscriber connects: filled from the history (--since)
        received.append((await anext(stream)).seq)
        received.append((await anext(stream)).seq)
        await publish(1)
        received.append((await anext(stream)).seq)
        closed = await client.close_user_connections(user)
        assert len(closed["closed"]) == 1
        await publish(3)  # while it reconnects: replayed on resume
        for _ in range(3):
            received.append((await anext(stream)).seq)
        await stream.aclose()  # type: ignore[attr-defined]
    assert received == list(range(start + 1, start + 7))
    assert subscriber.connects == 2
    assert any(r.startswith("resumed alerts") for r in reports), reports
    await asyncio.to_thread(stack.wait_idle)


@pytest.fixture
def queued_fanout(stack: ObservedDeployment) -> Iterator[None]:
    """Groups of more than 2 members fan out through the queue."""
    stack.redeploy({"FANOUT_QUEUE_THRESHOLD": "2", "MEMBER_SHARD_SIZE": "2"})
    yield
    stack.wait_fanout_idle()
    stack.redeploy({"FANOUT_QUEUE_THRESHOLD": "500", "MEMBER_SHARD_SIZE": "1000"})


async def test_wait_until_done_follows_a_queued_fanout(stack: ObservedDeployment, queued_fanout: None) -> None:
    async with Clients(stack) as clients, hub(stack) as client:
        dashboards = await clients.open_many(4)
        for dashboard in dashboards:
            await subscribe(dashboard, "analytics")
        published = await client.analytics(et.AnalyticsUpdate(metrics={"cpu": 0.5}))
        assert published.queued and published.recipients == 4 and published.delivered is None
        progress = await client.wait_until_done(published, interval=0.05, timeout=30)
        assert (progress.status, progress.done, progress.delivered, progress.failed) == ("done", True, 4, 0)
        assert progress.slices is not None and progress.slices == progress.slices_done
        for dashboard in dashboards:
            assert (await dashboard.receive())["id"] == published.id

        [result] = await client.publish_batch([et.AnalyticsUpdate(metrics={"cpu": 0.6})])
        assert (result.status, result.queued, result.recipients) == (202, True, 4)
        assert result.id is not None
        assert (await client.wait_until_done(result.id, interval=0.05, timeout=30)).delivered == 4
        for dashboard in dashboards:
            assert (await dashboard.receive())["id"] == result.id
