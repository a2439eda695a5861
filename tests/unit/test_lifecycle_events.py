"""Lifecycle events the hub emits, over the DynamoDB stores (moto: occupancy is conditions
in the table) with a recording notifier."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from realtime.adapters.dynamodb import DynamoStores
from realtime.adapters.dynamodb.keys import META, group_pk
from realtime.bootstrap import Hub, wire
from realtime.config import HubSettings
from realtime.domain.lifecycle import ConnectionClosed, ConnectionOpened, GroupOccupied, GroupVacated
from realtime.domain.models import Identity
from tests.conftest import TABLE, ports_of
from tests.fakes import FakeClock, FakeNotifier, FakeSender
from tests.support import publish

ADMIN = Identity(user_id="alice", roles=frozenset({"admin"}))


@pytest.fixture
def bus() -> FakeNotifier:
    return FakeNotifier()


@pytest.fixture
def hub(
    hub_settings: HubSettings,
    dynamodb_table: object,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
    bus: FakeNotifier,
) -> Hub:
    stores = DynamoStores.of(dynamodb_table, TABLE, track_occupancy=True)  # as bootstrap does with a bus
    return wire(hub_settings, ports_of(stores, sender=sender, clock=clock, executor=executor, notifier=bus))


def kinds(bus: FakeNotifier) -> list[tuple[str, str]]:
    return [(type(e).__name__, getattr(e, "group", None) or getattr(e, "reason", None) or "") for e in bus.events]


def test_connect_and_disconnect_emit_opened_closed_and_occupancy(hub: Hub, bus: FakeNotifier) -> None:
    hub.connections.connect("a", ADMIN)
    hub.connections.connect("b", ADMIN)
    hub.connections.disconnect("a")
    hub.connections.disconnect("b")
    hub.connections.disconnect("b")  # a repeated $disconnect emits nothing
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


def test_subscribe_and_unsubscribe_flip_occupancy_once(hub: Hub, bus: FakeNotifier) -> None:
    a, b = hub.connections.connect("a", ADMIN), hub.connections.connect("b", ADMIN)
    hub.subscriptions.subscribe(a, "alerts")
    hub.subscriptions.subscribe(b, "alerts")
    hub.subscriptions.subscribe(b, "alerts")  # already a member: nothing changes
    hub.subscriptions.unsubscribe(a, "alerts")
    hub.subscriptions.unsubscribe(b, "alerts")
    hub.subscriptions.unsubscribe(b, "alerts")
    alerts = [e for e in bus.events if isinstance(e, GroupOccupied | GroupVacated) and e.group == "alerts"]
    assert [(type(e).__name__, e.connection_id) for e in alerts] == [("GroupOccupied", "a"), ("GroupVacated", "b")]


def test_connections_found_gone_close_as_stale_and_expired_ones_as_expired(
    hub: Hub, bus: FakeNotifier, sender: FakeSender, clock: FakeClock
) -> None:
    hub.connections.connect("gone", ADMIN)
    hub.connections.connect("old", ADMIN)
    sender.gone.add("gone")
    publish(hub, ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    clock.current += timedelta(hours=3)
    assert hub.connections.sweep() == 1
    closed = {e.connection_id: e.reason for e in bus.of(ConnectionClosed)}
    assert closed == {"gone": "stale", "old": "expired"}
    assert [type(e).__name__ for e in bus.events][-1] == "GroupVacated"


def test_no_bus_means_no_occupancy_bookkeeping(
    hub_settings: HubSettings, dynamo: DynamoStores, sender: FakeSender, clock: FakeClock, executor: ThreadPoolExecutor
) -> None:
    quiet = wire(hub_settings, ports_of(dynamo, sender=sender, clock=clock, executor=executor))
    quiet.connections.connect("a", ADMIN)
    assert "occupied" not in (dynamo.memberships.table.get(group_pk("admins"), META) or {})


def test_occupancy_events_alternate_under_concurrent_joins_and_leaves(
    hub_settings: HubSettings, dynamodb_table: object, sender: FakeSender, clock: FakeClock, bus: FakeNotifier
) -> None:
    from concurrent.futures import ThreadPoolExecutor as Pool

    from tests.fakes import OneRequestAtATime

    stores = DynamoStores.of(OneRequestAtATime(dynamodb_table), TABLE, track_occupancy=True)
    pool = Pool(max_workers=4)
    hub = wire(hub_settings, ports_of(stores, sender=sender, clock=clock, executor=pool, notifier=bus))

    def churn(worker: int) -> None:
        for i in range(6):
            cid = f"w{worker}-{i}"
            hub.connections.connect(cid, ADMIN)
            hub.connections.disconnect(cid)

    with Pool(max_workers=4) as pool:
        list(pool.map(churn, range(4)))
    # Flips alternate in the table; threads may put them on the bus in another order (as
    # EventBridge may deliver them), so: as many Vacated as Occupied, and the flag agrees.
    occupied, vacated = len(bus.of(GroupOccupied)), len(bus.of(GroupVacated))
    assert occupied >= 1 and occupied == vacated
    assert hub.queries.counts().groups["admins"] == 0
    assert stores.streams.state("admins").occupied is False
