"""Regression tests of the hardening review: readers that survive any stored item, token
expiry on open sockets, refresh, revocation, replay budgets and idempotency scopes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from realtime.bootstrap import Hub, wire
from realtime.config import HubSettings
from realtime.domain.lifecycle import ConnectionClosed
from realtime.domain.models import Identity, PublishRequest
from realtime.domain.rate_limits import ActionLimiter
from realtime.errors import Forbidden, RateLimited, UnknownConnection
from tests.conftest import ports_of
from tests.fakes import FakeClock, FakeNotifier, FakeSender
from tests.memory import MemoryStores
from tests.support import publish, snapshot

ALERT = {"title": "t", "message": "m"}


def identity(user: str = "alice", *roles: str, expires_in: float | None = 3600, clock: FakeClock) -> Identity:
    expiry = clock.now() + timedelta(seconds=expires_in) if expires_in is not None else None
    return Identity(user_id=user, roles=frozenset(roles or ("admin",)), expires_at=expiry)


def frames(sender: FakeSender, connection_id: str) -> list[dict[str, Any]]:
    return [json.loads(frame) for frame in sender.sent[connection_id]]


def rewired(
    hub_settings: HubSettings, stores: MemoryStores, sender: FakeSender, clock: FakeClock, **settings: Any
) -> Hub:
    executor = ThreadPoolExecutor(max_workers=4)
    return wire(
        hub_settings.model_copy(update=settings), ports_of(stores, sender=sender, clock=clock, executor=executor)
    )


# -- readers survive any stored item ----------------------------------------------------

UNREADABLE = ['{"a":' * 300 + "1" + "}" * 300, "not json", '{"type":"Alert"}', "[]"]


@pytest.mark.parametrize("bad", UNREADABLE)
def test_history_snapshot_and_resume_skip_an_unreadable_item(
    hub: Hub, sender: FakeSender, stores: MemoryStores, clock: FakeClock, bad: str
) -> None:
    admin = identity(clock=clock)
    for _ in range(3):
        publish(hub, admin, "Alert", ALERT, group="alerts")
    stores.corrupt("alerts", 2, bad)  # as an older writer could have (tests/contract: the same on DynamoDB)
    items, _ = hub.queries.history(admin, "alerts", 0, 10)
    assert [e.seq for e in items] == [1, 3]
    assert "Alert" in snapshot(hub, admin)["latest"]

    connection = hub.connections.connect("c1", admin)
    epoch = hub.subscriptions.subscribe(connection, "alerts").epoch
    hub.subscriptions.unsubscribe(connection, "alerts")
    resumed = hub.subscriptions.subscribe(connection, "alerts", since=0, epoch=epoch)
    assert resumed.recovered
    hub.subscriptions.replay(connection, "alerts", 0, resumed.replay_bytes)
    assert [f["seq"] for f in frames(sender, "c1") if f.get("type") == "Alert"] == [1, 3]
    publish(hub, admin, "Alert", ALERT, group="alerts")  # live again: not stuck replaying
    assert frames(sender, "c1")[-1]["seq"] == 4


def test_a_replay_that_fails_never_leaves_the_membership_replaying(
    hub: Hub,
    sender: FakeSender,
    monkeypatch: pytest.MonkeyPatch,
    stores: MemoryStores,
    clock: FakeClock,
) -> None:
    admin = identity(clock=clock)
    publish(hub, admin, "Alert", ALERT, group="alerts")
    connection = hub.connections.connect("c1", admin)
    epoch = hub.subscriptions.subscribe(connection, "alerts").epoch
    hub.subscriptions.unsubscribe(connection, "alerts")
    resumed = hub.subscriptions.subscribe(connection, "alerts", since=0, epoch=epoch)

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("a reader bug")

    monkeypatch.setattr(stores, "history", broken)
    hub.subscriptions.replay(connection, "alerts", 0, resumed.replay_bytes)
    error = frames(sender, "c1")[-1]
    assert (error["type"], error["code"], error["group"]) == ("Error", "RecoveryFailed", "alerts")
    assert stores.groups_of("c1") == ["admins"]  # unsubscribed, not stuck


# -- token expiry, refresh, revocation ----------------------------------------------------


def test_an_expired_token_is_noticed_closed_and_swept(hub: Hub, sender: FakeSender, clock: FakeClock) -> None:
    short = hub.connections.connect("short", identity("alice", expires_in=3, clock=clock))
    long = hub.connections.connect("long", identity("bob", expires_in=3600, clock=clock))
    assert not hub.connections.token_expired(short)
    clock.sleep(3 + hub.settings.token_expiry_grace_seconds + 1)
    assert hub.connections.token_expired(short) and not hub.connections.token_expired(long)
    clock.sleep(60)  # the sweeper reads whole minutes before now
    assert hub.connections.sweep() == 1
    assert sender.closed == ["short"]
    assert hub.connections.get("short") is None and hub.connections.get("long") is not None


def test_refresh_moves_the_expiry_and_the_sweeper_leaves_it_alone(
    hub: Hub, sender: FakeSender, clock: FakeClock
) -> None:
    connection = hub.connections.connect("c1", identity(expires_in=10, clock=clock))
    updated, left = hub.connections.refresh(connection, identity(expires_in=3600, clock=clock))
    assert left == [] and updated.token_expires_at == clock.now() + timedelta(seconds=3600)
    assert hub.connections.get("c1") == updated
    clock.sleep(300)
    assert not hub.connections.token_expired(updated)
    assert hub.connections.sweep() == 0 and sender.closed == []


def test_refresh_is_for_the_same_user_with_the_connect_role(hub: Hub, clock: FakeClock) -> None:
    connection = hub.connections.connect("c1", identity(clock=clock))
    with pytest.raises(Forbidden):
        hub.connections.refresh(connection, identity("mallory", clock=clock))
    with pytest.raises(Forbidden):
        hub.connections.refresh(connection, identity("alice", "viewer", clock=clock))


def test_refresh_with_fewer_roles_leaves_the_groups_it_may_no_longer_read(
    hub_settings: HubSettings, stores: MemoryStores, sender: FakeSender, clock: FakeClock
) -> None:
    roles = {"admins": "admin", "user-activity": "admin", "analytics": "viewer", "alerts": "ops"}
    hub = rewired(hub_settings, stores, sender, clock, group_roles=roles, connect_role="viewer")
    connection = hub.connections.connect("c1", identity("alice", "viewer", "ops", clock=clock))
    hub.subscriptions.subscribe(connection, "alerts")
    hub.subscriptions.subscribe(connection, "analytics")
    updated, left = hub.connections.refresh(connection, identity("alice", "viewer", clock=clock))
    assert left == ["alerts"]
    assert stores.groups_of("c1") == ["analytics"]
    assert updated.roles == frozenset({"viewer"})


def test_an_admin_revokes_a_connection_or_all_of_a_user(
    hub_settings: HubSettings, stores: MemoryStores, sender: FakeSender, clock: FakeClock, executor: ThreadPoolExecutor
) -> None:
    events = FakeNotifier()
    hub = wire(hub_settings, ports_of(stores, sender=sender, clock=clock, executor=executor, notifier=events))
    admin = identity("root", clock=clock)
    for cid, user in (("a1", "alice"), ("a2", "alice"), ("b1", "bob")):
        hub.connections.connect(cid, identity(user, clock=clock))
    with pytest.raises(Forbidden):
        hub.connections.revoke(identity("bob", "viewer", clock=clock), "a1")
    assert hub.connections.revoke(admin, "b1").user_id == "bob"
    sender.gone.add("b1")  # API Gateway closed it
    with pytest.raises(UnknownConnection):
        hub.connections.revoke(admin, "b1")
    assert sorted(hub.connections.revoke_user(admin, "alice")) == ["a1", "a2"]
    assert sorted(sender.closed) == ["a1", "a2", "b1", "b1"]  # the second b1: API Gateway said gone
    assert hub.queries.counts().connections == 0
    assert {event.reason for event in events.of(ConnectionClosed)} == {"revoked"}


# -- rate limits --------------------------------------------------------------------------


def test_the_action_limiter_allows_a_burst_then_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = ActionLimiter(rate=2, burst=3, now=lambda: now[0])
    assert [limiter.take("c") for _ in range(3)] == [None, None, None]
    wait = limiter.take("c")
    assert wait == pytest.approx(0.5)
    assert limiter.take("other") is None  # per connection
    now[0] += 0.5
    assert limiter.take("c") is None and limiter.take("c") is not None


def test_replays_are_charged_to_a_per_minute_budget(
    hub_settings: HubSettings, stores: MemoryStores, sender: FakeSender, clock: FakeClock
) -> None:
    hub = rewired(hub_settings, stores, sender, clock, replay_messages_per_minute=5)
    admin = identity(clock=clock)
    for _ in range(3):
        publish(hub, admin, "Alert", ALERT, group="alerts")
    connection = hub.connections.connect("c1", admin)
    epoch = hub.subscriptions.subscribe(connection, "alerts").epoch
    hub.subscriptions.unsubscribe(connection, "alerts")
    assert hub.subscriptions.subscribe(connection, "alerts", since=0, epoch=epoch).recovered  # 3 of 5
    hub.subscriptions.unsubscribe(connection, "alerts")
    with pytest.raises(RateLimited) as limited:
        hub.subscriptions.subscribe(connection, "alerts", since=0, epoch=epoch)  # 3 more: over 5
    assert 0 < limited.value.retry_after <= 60
    assert stores.groups_of("c1") == ["admins"]  # refused before joining
    clock.sleep(60)
    assert hub.subscriptions.subscribe(connection, "alerts", since=0, epoch=epoch).recovered  # a new minute


def test_a_replay_past_its_byte_budget_stops_with_rate_limited(
    hub_settings: HubSettings, stores: MemoryStores, sender: FakeSender, clock: FakeClock
) -> None:
    hub = rewired(hub_settings, stores, sender, clock, replay_bytes_per_minute=600)
    admin = identity(clock=clock)
    for _ in range(10):
        publish(hub, admin, "Alert", ALERT, group="alerts")
    connection = hub.connections.connect("c1", admin)
    epoch = hub.subscriptions.subscribe(connection, "alerts").epoch
    hub.subscriptions.unsubscribe(connection, "alerts")
    resumed = hub.subscriptions.subscribe(connection, "alerts", since=0, epoch=epoch)
    hub.subscriptions.replay(connection, "alerts", 0, resumed.replay_bytes)
    replayed = [f for f in frames(sender, "c1") if f.get("type") == "Alert"]
    assert 0 < len(replayed) < 10 and sum(len(json.dumps(f, separators=(",", ":"))) for f in replayed) <= 600
    error = frames(sender, "c1")[-1]
    assert (error["code"], error["group"]) == ("RateLimited", "alerts") and error["retryAfter"] > 0
    assert stores.groups_of("c1") == ["admins"]
    # The bytes were counted: what is left of the minute's budget cannot carry one more message.
    again = hub.subscriptions.subscribe(connection, "alerts", since=replayed[-1]["seq"], epoch=epoch)
    sent = sum(len(raw) for raw in sender.sent["c1"] if json.loads(raw).get("type") == "Alert")
    assert again.replay_bytes == 600 - sent
    hub.subscriptions.replay(connection, "alerts", replayed[-1]["seq"], again.replay_bytes)
    assert [f for f in frames(sender, "c1") if f.get("type") == "Alert"] == replayed
    assert frames(sender, "c1")[-1]["code"] == "RateLimited"


# -- idempotency scopes -------------------------------------------------------------------


def test_idempotency_keys_are_scoped_per_face_and_caller(hub: Hub, sender: FakeSender, clock: FakeClock) -> None:
    hub.connections.connect("c1", identity(clock=clock))
    alice, bus = identity("alice", clock=clock), identity("eventbridge:svc", clock=clock)
    request = PublishRequest(group="admins", type="TestMessage", data={"message": "m"})
    publishing = hub.publishing
    firsts = [
        publishing.publish_once("rest", "k", alice, request),
        publishing.publish_once("websocket", "k", alice, request),
        publishing.publish_once("eventbridge", "k", bus, request),
        publishing.publish_once("rest", "k", bus, request),
    ]
    assert publishing.publish_once("rest", "k", alice, request) == firsts[0]  # a repeat: the first answer
    assert [f.seq for f in firsts] == [1, 2, 3, 4]  # four scopes, four publishes
    assert len(sender.sent["c1"]) == 4
