"""Lifecycle events the hub emits, over moto's DynamoDB with a recording publisher."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from realtime.adapters.dynamodb import DynamoRepository
from realtime.config import HubSettings
from realtime.domain.hub import RealtimeHub
from realtime.domain.lifecycle import ConnectionClosed, ConnectionOpened, GroupOccupied, GroupVacated
from realtime.domain.models import Identity
from tests.fakes import FakeClock, FakeEventPublisher, FakeIdempotency, FakeSender

ADMIN = Identity(user_id="alice", roles=frozenset({"admin"}))


@pytest.fixture
def bus() -> FakeEventPublisher:
    return FakeEventPublisher()


@pytest.fixture
def hub(
    hub_settings: HubSettings,
    repository: DynamoRepository,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
    bus: FakeEventPublisher,
) -> RealtimeHub:
    return RealtimeHub(
        hub_settings,
        repository=repository,
        sender=sender,
        clock=clock,
        executor=executor,
        idempotency=FakeIdempotency(),
        events=bus,
    )


def kinds(bus: FakeEventPublisher) -> list[tuple[str, str]]:
    return [(type(e).__name__, getattr(e, "group", None) or getattr(e, "reason", None) or "") for e in bus.events]


def test_connect_and_disconnect_emit_opened_closed_and_occupancy(hub: RealtimeHub, bus: FakeEventPublisher) -> None:
    hub.connect("a", ADMIN)
    hub.connect("b", ADMIN)
    hub.disconnect("a")
    hub.disconnect("b")
    hub.disconnect("b")  # a repeated $disconnect emits nothing
    assert kinds(bus) == [
        ("ConnectionOpened", ""),
        ("GroupOccupied", "admins"),
        ("ConnectionOpened", ""),
        ("ConnectionClosed", "client"),
        ("ConnectionClosed", "client"),
        ("GroupVacated", "admins"),
    ]
    opened = bus.of(ConnectionOpened)[0]
    assert opened.detail() == {"connectionId": "a", "userId": "alice", "groups": ["admins"], "at": opened.at}
    closed = bus.of(ConnectionClosed)[1]
    assert closed.detail()["groups"] == ["admins"] and closed.detail()["reason"] == "client"


def test_subscribe_and_unsubscribe_flip_occupancy_once(hub: RealtimeHub, bus: FakeEventPublisher) -> None:
    a, b = hub.connect("a", ADMIN), hub.connect("b", ADMIN)
    hub.subscribe(a, "alerts")
    hub.subscribe(b, "alerts")
    hub.subscribe(b, "alerts")  # already a member: nothing changes
    hub.unsubscribe(a, "alerts")
    hub.unsubscribe(b, "alerts")
    hub.unsubscribe(b, "alerts")
    alerts = [e for e in bus.events if isinstance(e, GroupOccupied | GroupVacated) and e.group == "alerts"]
    assert [(type(e).__name__, e.connection_id) for e in alerts] == [("GroupOccupied", "a"), ("GroupVacated", "b")]


def test_connections_found_gone_close_as_stale_and_expired_ones_as_expired(
    hub: RealtimeHub, bus: FakeEventPublisher, sender: FakeSender, clock: FakeClock
) -> None:
    hub.connect("gone", ADMIN)
    hub.connect("old", ADMIN)
    sender.gone.add("gone")
    hub.publish(ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    clock.current += timedelta(hours=3)
    assert hub.sweep_expired() == 1
    closed = {e.connection_id: e.reason for e in bus.of(ConnectionClosed)}
    assert closed == {"gone": "stale", "old": "expired"}
    assert [type(e).__name__ for e in bus.events][-1] == "GroupVacated"


def test_no_bus_means_no_occupancy_bookkeeping(
    hub_settings: HubSettings, repository: DynamoRepository, sender: FakeSender, clock: FakeClock
) -> None:
    quiet = RealtimeHub(hub_settings, repository=repository, sender=sender, clock=clock, idempotency=FakeIdempotency())
    assert quiet.events is None
    quiet.connect("a", ADMIN)
    assert "occupied" not in repository._get("GRP#admins", "META")  # type: ignore[operator]


def test_occupancy_events_alternate_under_concurrent_joins_and_leaves(
    hub_settings: HubSettings, dynamodb_table: object, sender: FakeSender, clock: FakeClock, bus: FakeEventPublisher
) -> None:
    from concurrent.futures import ThreadPoolExecutor as Pool

    from tests.conftest import TABLE
    from tests.fakes import OneRequestAtATime

    repository = DynamoRepository(OneRequestAtATime(dynamodb_table), TABLE)
    hub = RealtimeHub(
        hub_settings, repository=repository, sender=sender, clock=clock, idempotency=FakeIdempotency(), events=bus
    )

    def churn(worker: int) -> None:
        for i in range(6):
            cid = f"w{worker}-{i}"
            hub.connect(cid, ADMIN)
            hub.disconnect(cid)

    with Pool(max_workers=4) as pool:
        list(pool.map(churn, range(4)))
    # Flips alternate in the table; threads may put them on the bus in another order (as
    # EventBridge may deliver them), so: as many Vacated as Occupied, and the flag agrees.
    occupied, vacated = len(bus.of(GroupOccupied)), len(bus.of(GroupVacated))
    assert occupied >= 1 and occupied == vacated
    assert hub.counts().groups["admins"] == 0
    assert repository.group_state("admins").occupied is False
