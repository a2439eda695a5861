"""The use cases over the stores in memory and a recording sender."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from realtime.bootstrap import Hub, wire
from realtime.config import HubSettings
from realtime.domain.models import Identity, PublishRequest, PublishResult
from realtime.errors import Conflict, Forbidden, PayloadTooLarge, ServiceUnavailable, UnknownGroup, ValidationFailed
from tests.conftest import ports_of
from tests.fakes import FakeClock, FakeSender
from tests.memory import MemoryStores
from tests.support import publish, snapshot

ADMIN = Identity(user_id="alice", roles=frozenset({"admin"}))
VIEWER = Identity(user_id="victor", roles=frozenset({"viewer"}))
ALERT = {"title": "t", "message": "m"}


def frames(sender: FakeSender, connection_id: str) -> list[dict]:
    return [json.loads(frame) for frame in sender.sent[connection_id]]


def test_connect_records_the_connection_and_joins_admins(hub: Hub) -> None:
    connection = hub.connections.connect("c1", ADMIN)
    assert hub.connections.get("c1") == connection
    assert hub.queries.counts().groups["admins"] == 1
    assert (connection.expires_at - connection.connected_at).total_seconds() == 7500


def test_connect_requires_the_connect_role(hub: Hub) -> None:
    with pytest.raises(Forbidden):
        hub.connections.connect("c1", VIEWER)


def test_subscribe_answers_the_last_seq_and_epoch_of_the_group(hub: Hub) -> None:
    connection = hub.connections.connect("c1", ADMIN)
    first = hub.subscriptions.subscribe(connection, "alerts")
    assert (first.seq, first.recovered) == (0, None)
    publish(hub, ADMIN, "Alert", ALERT, group="alerts")
    again = hub.subscriptions.subscribe(connection, "alerts")
    assert (again.seq, again.epoch) == (1, first.epoch)
    assert (again.group, again.seq, again.epoch, again.recovered) == ("alerts", 1, first.epoch, None)


def test_subscribe_checks_group_and_role(
    hub: Hub,
    hub_settings: HubSettings,
    stores: MemoryStores,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
) -> None:
    connection = hub.connections.connect("c1", ADMIN)
    with pytest.raises(UnknownGroup):
        hub.subscriptions.subscribe(connection, "nope")
    restricted = wire(
        hub_settings.model_copy(update={"group_roles": {**hub_settings.group_roles, "alerts": "ops"}}),
        ports_of(stores, sender=sender, clock=clock, executor=executor),
    )
    with pytest.raises(Forbidden):
        restricted.subscriptions.subscribe(connection, "alerts")


def test_publish_delivers_the_envelope_to_members_only(hub: Hub, sender: FakeSender, stores: MemoryStores) -> None:
    for cid in ("a", "b", "c"):
        connection = hub.connections.connect(cid, ADMIN)
        if cid != "c":
            hub.subscriptions.subscribe(connection, "analytics")
    result = publish(hub, ADMIN, "AnalyticsUpdate", {"metrics": {"cpu": 0.5}}, group="analytics")
    assert isinstance(result, PublishResult)  # a small group: inline
    assert (result.recipients, result.delivered, result.gone, result.seq) == (2, 2, 0, 1)
    [envelope] = frames(sender, "a")
    assert envelope == {
        "type": "AnalyticsUpdate",
        "group": "analytics",
        "id": result.id,
        "seq": 1,
        "epoch": stores.state("analytics").epoch,
        "ts": "2026-01-01T00:00:00.000Z",
        "data": {"metrics": {"cpu": 0.5}},
    }
    assert frames(sender, "c") == []


def test_seq_is_per_group_and_increments_by_one(hub: Hub) -> None:
    seqs = [publish(hub, ADMIN, "TestMessage", {"message": str(i)}, group="alerts").seq for i in range(3)]
    assert seqs == [1, 2, 3]
    assert publish(hub, ADMIN, "TestMessage", {"message": "x"}, group="admins").seq == 1


def test_gone_connections_are_removed_during_fan_out(hub: Hub, sender: FakeSender) -> None:
    hub.connections.connect("alive", ADMIN)
    hub.connections.connect("stale", ADMIN)
    sender.gone.add("stale")
    result = publish(hub, ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    assert isinstance(result, PublishResult)
    assert (result.delivered, result.gone) == (1, 1)
    assert hub.connections.get("stale") is None
    assert hub.queries.counts().model_dump() == {
        "connections": 1,
        "groups": {"admins": 1, "user-activity": 0, "analytics": 0, "alerts": 0},
    }


def test_publish_requires_the_publish_role(hub: Hub) -> None:
    with pytest.raises(Forbidden):
        publish(hub, VIEWER, "TestMessage", {"message": "x"}, group="alerts")


def test_rejected_publishes_never_burn_a_seq(hub: Hub) -> None:
    big = {"userId": "u", "action": "a", "details": {"b": "x" * 140_000}}
    with pytest.raises(PayloadTooLarge):
        publish(hub, ADMIN, "UserAction", big, group="user-activity")
    with pytest.raises(ValidationFailed):
        publish(hub, ADMIN, "Alert", {"title": "no message"}, group="admins")
    with pytest.raises(UnknownGroup):
        publish(hub, ADMIN, "TestMessage", {"message": "x"}, group="nope")
    with pytest.raises(ValidationFailed):
        publish(hub, ADMIN, "TestMessage", {"message": "x"})  # neither group nor user
    assert publish(hub, ADMIN, "TestMessage", {"message": "x"}, group="admins").seq == 1


def test_platform_snapshot_keeps_the_latest_envelope_of_each_type(hub: Hub) -> None:
    publish(hub, ADMIN, "UserCountUpdate", {"totalUsers": 1, "activeUsers": 1}, group="analytics")
    last = publish(hub, ADMIN, "UserCountUpdate", {"totalUsers": 2, "activeUsers": 1}, group="analytics")
    latest = snapshot(hub, ADMIN)["latest"]
    assert latest["UserCountUpdate"]["id"] == last.id
    assert latest["UserCountUpdate"]["data"] == {"totalUsers": 2, "activeUsers": 1}


def test_reply_to_a_gone_connection_removes_it(hub: Hub, sender: FakeSender) -> None:
    hub.connections.connect("c1", ADMIN)
    sender.gone.add("c1")
    assert hub.departures.reply("c1", {"type": "Pong"}) is False
    assert hub.queries.connection_count() == 0


# -- targeting a user ------------------------------------------------------------------


def test_a_user_target_reaches_every_tab_of_that_user_only(hub: Hub, sender: FakeSender) -> None:
    hub.connections.connect("tab1", ADMIN)
    hub.connections.connect("tab2", ADMIN)
    hub.connections.connect("other", Identity(user_id="bob", roles=frozenset({"admin"})))
    result = publish(hub, ADMIN, "TestMessage", {"message": "hi"}, user_id="alice")
    assert isinstance(result, PublishResult)
    assert (result.user_id, result.group, result.recipients, result.delivered) == ("alice", None, 2, 2)
    [envelope] = frames(sender, "tab1")
    assert envelope["userId"] == "alice"
    assert "group" not in envelope
    assert frames(sender, "tab2") == [envelope]
    assert frames(sender, "other") == []
    assert "TestMessage" not in snapshot(hub, ADMIN)["latest"]  # private: not in the shared snapshot


# -- batch and idempotency -------------------------------------------------------------


def test_a_batch_publishes_valid_events_despite_an_invalid_one(hub: Hub, sender: FakeSender) -> None:
    hub.connections.connect("c1", ADMIN)
    results = hub.publishing.publish_batch(
        ADMIN,
        [
            {"group": "admins", "type": "TestMessage", "data": {"message": "one"}},
            {"group": "admins", "type": "Alert", "data": {"title": "missing message"}},
            {"group": "nope", "type": "TestMessage", "data": {"message": "x"}},
            {"group": "admins", "type": "TestMessage", "data": {"message": "two"}, "extra": 1},
            {"group": "admins", "type": "TestMessage", "data": {"message": "three"}},
        ],
    )
    # What each item would have answered on its own: published, or refused with a code
    # (the REST face turns them into statuses 200, 422, 404, 422, 200: tests/integration).
    assert [(i.refused.code if i.refused else None) for i in results.items] == [
        None,
        "ValidationError",
        "UnknownGroup",
        "ValidationError",
        None,
    ]
    assert [i.published.seq if i.published else None for i in results.items] == [1, None, None, None, 2]
    assert [json.loads(f)["data"]["message"] for f in sender.sent["c1"]] == ["one", "three"]


def test_the_same_idempotency_key_delivers_once(hub: Hub, sender: FakeSender) -> None:
    hub.connections.connect("c1", ADMIN)
    request = PublishRequest(group="admins", type="TestMessage", data={"message": "once"})
    first = hub.publishing.publish_once("rest", "key-1", ADMIN, request)
    assert hub.publishing.publish_once("rest", "key-1", ADMIN, request) == first
    assert len(sender.sent["c1"]) == 1
    with pytest.raises(Conflict):
        other = request.model_copy(update={"data": {"message": "other"}})
        hub.publishing.publish_once("rest", "key-1", ADMIN, other)


# -- presence ----------------------------------------------------------------------------


def test_presence_counts_distinct_users_exactly(hub: Hub, sender: FakeSender) -> None:
    bob = Identity(user_id="bob", roles=frozenset({"admin"}))
    for cid, who in (("a1", ADMIN), ("a2", ADMIN), ("b1", bob)):
        hub.subscriptions.subscribe(hub.connections.connect(cid, who), "alerts")
    presence = hub.queries.presence(ADMIN, "alerts", with_user_ids=True).to_dict()
    assert {k: presence[k] for k in ("group", "connections", "users", "lastSeq", "userIds")} == {
        "group": "alerts",
        "connections": 3,
        "users": 2,
        "lastSeq": 0,
        "userIds": ["alice", "bob"],
    }
    hub.connections.disconnect("a1")
    assert hub.queries.presence(ADMIN, "alerts").to_dict()["users"] == 2  # alice still has a2
    sender.gone.add("a2")
    publish(hub, ADMIN, "Alert", ALERT, group="alerts")  # a2 found gone and removed
    presence = hub.queries.presence(ADMIN, "alerts", with_user_ids=True).to_dict()
    assert (presence["connections"], presence["users"], presence["userIds"]) == (1, 1, ["bob"])
    assert "userIds" not in hub.queries.presence(ADMIN, "alerts").to_dict()


def test_the_sweeper_removes_connections_whose_disconnect_never_came(hub: Hub, clock: FakeClock) -> None:
    bob = Identity(user_id="bob", roles=frozenset({"admin"}))
    hub.subscriptions.subscribe(hub.connections.connect("lost", ADMIN), "alerts")  # its $disconnect will never come
    clock.sleep(3600)
    hub.subscriptions.subscribe(hub.connections.connect("young", bob), "alerts")
    clock.sleep(3600 + 600)  # "lost" is past 2 h 5 min, "young" is not
    assert hub.connections.sweep() == 1
    assert hub.connections.sweep() == 0
    assert hub.queries.counts().model_dump()["connections"] == 1
    presence = hub.queries.presence(ADMIN, "alerts", with_user_ids=True).to_dict()
    assert (presence["connections"], presence["users"], presence["userIds"]) == (1, 1, ["bob"])


def test_replies_are_retried_through_throttling_and_counted_when_they_fail(hub: Hub, sender: FakeSender) -> None:
    hub.connections.connect("c1", ADMIN)
    sender.throttle["c1"] = 2
    assert hub.departures.reply("c1", {"type": "Pong"}) is True
    assert frames(sender, "c1") == [{"type": "Pong"}]
    sender.throttle["c1"] = 99
    assert hub.departures.reply("c1", {"type": "Pong"}) is False  # logged and counted, never raised
    assert hub.connections.get("c1") is not None  # throttling is not a reason to drop a connection


def test_subscribing_to_a_group_that_never_stops_moving_gives_up_cleanly(
    hub: Hub, monkeypatch, stores: MemoryStores
) -> None:
    connection = hub.connections.connect("c1", ADMIN)
    monkeypatch.setattr(stores, "join", lambda *args, **kwargs: None)  # every join loses a race
    with pytest.raises(ServiceUnavailable):
        hub.subscriptions.subscribe(connection, "alerts")
