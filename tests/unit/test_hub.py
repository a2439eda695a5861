"""The hub's use cases over moto's DynamoDB and a recording sender."""

import json

import pytest

from realtime.config import HubSettings
from realtime.domain.hub import RealtimeHub
from realtime.domain.models import Identity, PublishResult
from realtime.errors import Conflict, Forbidden, PayloadTooLarge, ServiceUnavailable, UnknownGroup, ValidationFailed
from tests.fakes import FakeSender

ADMIN = Identity(user_id="alice", roles=frozenset({"admin"}))
VIEWER = Identity(user_id="victor", roles=frozenset({"viewer"}))
ALERT = {"title": "t", "message": "m"}


def frames(sender: FakeSender, connection_id: str) -> list[dict]:
    return [json.loads(frame) for frame in sender.sent[connection_id]]


def test_connect_records_the_connection_and_joins_admins(hub: RealtimeHub) -> None:
    connection = hub.connect("c1", ADMIN)
    assert hub.connection("c1") == connection
    assert hub.counts().groups["admins"] == 1
    assert (connection.expires_at - connection.connected_at).total_seconds() == 7500


def test_connect_requires_the_connect_role(hub: RealtimeHub) -> None:
    with pytest.raises(Forbidden):
        hub.connect("c1", VIEWER)


def test_subscribe_answers_the_last_seq_and_epoch_of_the_group(hub: RealtimeHub) -> None:
    connection = hub.connect("c1", ADMIN)
    first = hub.subscribe(connection, "alerts")
    assert (first.seq, first.recovered) == (0, None)
    hub.publish(ADMIN, "Alert", ALERT, group="alerts")
    again = hub.subscribe(connection, "alerts")
    assert (again.seq, again.epoch) == (1, first.epoch)
    assert again.reply() == {"type": "Subscribed", "group": "alerts", "seq": 1, "epoch": first.epoch}


def test_subscribe_checks_group_and_role(hub: RealtimeHub, hub_settings: HubSettings) -> None:
    connection = hub.connect("c1", ADMIN)
    with pytest.raises(UnknownGroup):
        hub.subscribe(connection, "nope")
    restricted = RealtimeHub(
        hub_settings.model_copy(update={"group_roles": {**hub_settings.group_roles, "alerts": "ops"}}),
        repository=hub.repository,
        sender=hub.sender,
        clock=hub.clock,
        executor=hub.executor,
    )
    with pytest.raises(Forbidden):
        restricted.subscribe(connection, "alerts")


def test_publish_delivers_the_envelope_to_members_only(hub: RealtimeHub, sender: FakeSender) -> None:
    for cid in ("a", "b", "c"):
        connection = hub.connect(cid, ADMIN)
        if cid != "c":
            hub.subscribe(connection, "analytics")
    result = hub.publish(ADMIN, "AnalyticsUpdate", {"metrics": {"cpu": 0.5}}, group="analytics")
    assert isinstance(result, PublishResult)  # a small group: inline
    assert (result.recipients, result.delivered, result.gone, result.seq) == (2, 2, 0, 1)
    [envelope] = frames(sender, "a")
    assert envelope == {
        "type": "AnalyticsUpdate",
        "group": "analytics",
        "id": result.id,
        "seq": 1,
        "epoch": hub.repository.group_state("analytics").epoch,
        "ts": "2026-01-01T00:00:00.000Z",
        "data": {"metrics": {"cpu": 0.5}},
    }
    assert frames(sender, "c") == []


def test_seq_is_per_group_and_increments_by_one(hub: RealtimeHub) -> None:
    seqs = [hub.publish(ADMIN, "TestMessage", {"message": str(i)}, group="alerts").seq for i in range(3)]
    assert seqs == [1, 2, 3]
    assert hub.publish(ADMIN, "TestMessage", {"message": "x"}, group="admins").seq == 1


def test_gone_connections_are_removed_during_fan_out(hub: RealtimeHub, sender: FakeSender) -> None:
    hub.connect("alive", ADMIN)
    hub.connect("stale", ADMIN)
    sender.gone.add("stale")
    result = hub.publish(ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    assert isinstance(result, PublishResult)
    assert (result.delivered, result.gone) == (1, 1)
    assert hub.connection("stale") is None
    assert hub.counts().model_dump() == {
        "connections": 1,
        "groups": {"admins": 1, "user-activity": 0, "analytics": 0, "alerts": 0},
    }


def test_publish_requires_the_publish_role(hub: RealtimeHub) -> None:
    with pytest.raises(Forbidden):
        hub.publish(VIEWER, "TestMessage", {"message": "x"}, group="alerts")


def test_rejected_publishes_never_burn_a_seq(hub: RealtimeHub) -> None:
    big = {"userId": "u", "action": "a", "details": {"b": "x" * 140_000}}
    with pytest.raises(PayloadTooLarge):
        hub.publish(ADMIN, "UserAction", big, group="user-activity")
    with pytest.raises(ValidationFailed):
        hub.publish(ADMIN, "Alert", {"title": "no message"}, group="admins")
    with pytest.raises(UnknownGroup):
        hub.publish(ADMIN, "TestMessage", {"message": "x"}, group="nope")
    with pytest.raises(ValidationFailed):
        hub.publish(ADMIN, "TestMessage", {"message": "x"})  # neither group nor user
    assert hub.publish(ADMIN, "TestMessage", {"message": "x"}, group="admins").seq == 1


def test_platform_snapshot_keeps_the_latest_envelope_of_each_type(hub: RealtimeHub) -> None:
    hub.publish(ADMIN, "UserCountUpdate", {"totalUsers": 1, "activeUsers": 1}, group="analytics")
    last = hub.publish(ADMIN, "UserCountUpdate", {"totalUsers": 2, "activeUsers": 1}, group="analytics")
    snapshot = hub.platform_snapshot(ADMIN)
    assert snapshot["latest"]["UserCountUpdate"]["id"] == last.id
    assert snapshot["latest"]["UserCountUpdate"]["data"] == {"totalUsers": 2, "activeUsers": 1}


def test_reply_to_a_gone_connection_removes_it(hub: RealtimeHub, sender: FakeSender) -> None:
    hub.connect("c1", ADMIN)
    sender.gone.add("c1")
    assert hub.reply("c1", {"type": "Pong"}) is False
    assert hub.connection_count() == 0


# -- targeting a user ------------------------------------------------------------------


def test_a_user_target_reaches_every_tab_of_that_user_only(hub: RealtimeHub, sender: FakeSender) -> None:
    hub.connect("tab1", ADMIN)
    hub.connect("tab2", ADMIN)
    hub.connect("other", Identity(user_id="bob", roles=frozenset({"admin"})))
    result = hub.publish(ADMIN, "TestMessage", {"message": "hi"}, user_id="alice")
    assert isinstance(result, PublishResult)
    assert (result.user_id, result.group, result.recipients, result.delivered) == ("alice", None, 2, 2)
    [envelope] = frames(sender, "tab1")
    assert envelope["userId"] == "alice"
    assert "group" not in envelope
    assert frames(sender, "tab2") == [envelope]
    assert frames(sender, "other") == []
    assert "TestMessage" not in hub.platform_snapshot(ADMIN)["latest"]  # private: not in the shared snapshot


# -- batch and idempotency -------------------------------------------------------------


def test_a_batch_publishes_valid_events_despite_an_invalid_one(hub: RealtimeHub, sender: FakeSender) -> None:
    hub.connect("c1", ADMIN)
    results = hub.publish_batch(
        ADMIN,
        [
            {"group": "admins", "type": "TestMessage", "data": {"message": "one"}},
            {"group": "admins", "type": "Alert", "data": {"title": "missing message"}},
            {"group": "nope", "type": "TestMessage", "data": {"message": "x"}},
            {"group": "admins", "type": "TestMessage", "data": {"message": "two"}, "extra": 1},
            {"group": "admins", "type": "TestMessage", "data": {"message": "three"}},
        ],
    )
    assert [r["status"] for r in results] == [200, 422, 404, 422, 200]
    assert [r.get("seq") for r in results] == [1, None, None, None, 2]
    assert results[1]["code"] == "ValidationError"
    assert [json.loads(f)["data"]["message"] for f in sender.sent["c1"]] == ["one", "three"]


def test_the_same_idempotency_key_delivers_once(hub: RealtimeHub, sender: FakeSender) -> None:
    hub.connect("c1", ADMIN)
    request = {"group": "admins", "type": "TestMessage", "data": {"message": "once"}}

    def publish() -> dict:
        return hub.publish(ADMIN, "TestMessage", {"message": "once"}, group="admins").model_dump()

    first = hub.once("rest", "key-1", ADMIN, request, publish)
    assert hub.once("rest", "key-1", ADMIN, request, publish) == first
    assert len(sender.sent["c1"]) == 1
    with pytest.raises(Conflict):
        hub.once("rest", "key-1", ADMIN, {**request, "data": {"message": "other"}}, publish)


# -- presence ----------------------------------------------------------------------------


def test_presence_counts_distinct_users_exactly(hub: RealtimeHub, sender: FakeSender) -> None:
    bob = Identity(user_id="bob", roles=frozenset({"admin"}))
    for cid, who in (("a1", ADMIN), ("a2", ADMIN), ("b1", bob)):
        hub.subscribe(hub.connect(cid, who), "alerts")
    presence = hub.presence(ADMIN, "alerts", with_user_ids=True)
    assert {k: presence[k] for k in ("group", "connections", "users", "lastSeq", "userIds")} == {
        "group": "alerts",
        "connections": 3,
        "users": 2,
        "lastSeq": 0,
        "userIds": ["alice", "bob"],
    }
    hub.disconnect("a1")
    assert hub.presence(ADMIN, "alerts")["users"] == 2  # alice still has a2
    sender.gone.add("a2")
    hub.publish(ADMIN, "Alert", ALERT, group="alerts")  # a2 found gone and removed
    presence = hub.presence(ADMIN, "alerts", with_user_ids=True)
    assert (presence["connections"], presence["users"], presence["userIds"]) == (1, 1, ["bob"])
    assert "userIds" not in hub.presence(ADMIN, "alerts")


def test_the_sweeper_removes_connections_whose_disconnect_never_came(hub: RealtimeHub) -> None:
    bob = Identity(user_id="bob", roles=frozenset({"admin"}))
    hub.subscribe(hub.connect("lost", ADMIN), "alerts")  # its $disconnect will never come
    hub.clock.sleep(3600)
    hub.subscribe(hub.connect("young", bob), "alerts")
    hub.clock.sleep(3600 + 600)  # "lost" is past 2 h 5 min, "young" is not
    assert hub.sweep_expired() == 1
    assert hub.sweep_expired() == 0
    assert hub.counts().model_dump()["connections"] == 1
    presence = hub.presence(ADMIN, "alerts", with_user_ids=True)
    assert (presence["connections"], presence["users"], presence["userIds"]) == (1, 1, ["bob"])


def test_replies_are_retried_through_throttling_and_counted_when_they_fail(
    hub: RealtimeHub, sender: FakeSender
) -> None:
    hub.connect("c1", ADMIN)
    sender.throttle["c1"] = 2
    assert hub.reply("c1", {"type": "Pong"}) is True
    assert frames(sender, "c1") == [{"type": "Pong"}]
    sender.throttle["c1"] = 99
    assert hub.reply("c1", {"type": "Pong"}) is False  # logged and counted, never raised
    assert hub.connection("c1") is not None  # throttling is not a reason to drop a connection


def test_subscribing_to_a_group_that_never_stops_moving_gives_up_cleanly(hub: RealtimeHub, monkeypatch) -> None:
    connection = hub.connect("c1", ADMIN)
    monkeypatch.setattr(hub.repository, "join", lambda *args, **kwargs: None)  # every join loses a race
    with pytest.raises(ServiceUnavailable):
        hub.subscribe(connection, "alerts")
