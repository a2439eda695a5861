"""The hub's use cases over fakes: what gets stored, sent and answered."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from realtime.config import HubSettings
from realtime.domain.hub import RealtimeHub
from realtime.domain.models import Identity
from realtime.errors import Forbidden, PayloadTooLarge, UnknownGroup, ValidationFailed
from tests.fakes import FakeClock, FakeRepository, FakeSender

ADMIN = Identity(user_id="alice", roles=frozenset({"admin"}))
VIEWER = Identity(user_id="victor", roles=frozenset({"viewer"}))


@pytest.fixture
def fake_hub(
    hub_settings: HubSettings,
    fake_repository: FakeRepository,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
) -> RealtimeHub:
    return RealtimeHub(
        hub_settings, repository=fake_repository, sender=sender, clock=clock, executor=executor
    )


def frames(sender: FakeSender, connection_id: str) -> list[dict]:
    return [json.loads(frame) for frame in sender.sent[connection_id]]


def test_connect_records_the_connection_and_joins_admins(fake_hub: RealtimeHub, fake_repository) -> None:
    connection = fake_hub.connect("c1", ADMIN)
    assert fake_repository.get_connection("c1") == connection
    assert fake_hub.counts().groups["admins"] == 1
    assert (connection.expires_at - connection.connected_at).total_seconds() == 7500


def test_connect_requires_the_connect_role(fake_hub: RealtimeHub) -> None:
    with pytest.raises(Forbidden):
        fake_hub.connect("c1", VIEWER)


def test_subscribe_answers_the_last_seq_of_the_group(fake_hub: RealtimeHub) -> None:
    connection = fake_hub.connect("c1", ADMIN)
    assert fake_hub.subscribe(connection, "alerts") == 0
    fake_hub.publish(ADMIN, "alerts", "Alert", {"title": "t", "message": "m"})
    assert fake_hub.subscribe(connection, "alerts") == 1


def test_subscribe_checks_group_and_role(fake_hub: RealtimeHub, hub_settings: HubSettings) -> None:
    connection = fake_hub.connect("c1", ADMIN)
    with pytest.raises(UnknownGroup):
        fake_hub.subscribe(connection, "nope")
    restricted = RealtimeHub(
        hub_settings.model_copy(update={"group_roles": {**hub_settings.group_roles, "alerts": "ops"}}),
        repository=fake_hub.repository,
        sender=fake_hub.sender,
        clock=fake_hub.clock,
        executor=fake_hub.executor,
    )
    with pytest.raises(Forbidden):
        restricted.subscribe(connection, "alerts")


def test_publish_delivers_the_envelope_to_members_only(fake_hub: RealtimeHub, sender: FakeSender) -> None:
    for cid in ("a", "b", "c"):
        connection = fake_hub.connect(cid, ADMIN)
        if cid != "c":
            fake_hub.subscribe(connection, "analytics")
    result = fake_hub.publish(ADMIN, "analytics", "AnalyticsUpdate", {"metrics": {"cpu": 0.5}})
    assert (result.recipients, result.delivered, result.gone, result.seq) == (2, 2, 0, 1)
    [envelope] = frames(sender, "a")
    assert envelope == {
        "type": "AnalyticsUpdate",
        "group": "analytics",
        "id": result.id,
        "seq": 1,
        "ts": "2026-01-01T00:00:00.000Z",
        "data": {"metrics": {"cpu": 0.5}},
    }
    assert frames(sender, "c") == []


def test_seq_is_per_group_and_increments_by_one(fake_hub: RealtimeHub) -> None:
    seqs = [fake_hub.publish(ADMIN, "alerts", "TestMessage", {"message": str(i)}).seq for i in range(3)]
    assert seqs == [1, 2, 3]
    assert fake_hub.publish(ADMIN, "admins", "TestMessage", {"message": "x"}).seq == 1


def test_gone_connections_are_removed_during_fan_out(fake_hub: RealtimeHub, sender: FakeSender) -> None:
    fake_hub.connect("alive", ADMIN)
    fake_hub.connect("stale", ADMIN)
    sender.gone.add("stale")
    result = fake_hub.publish(ADMIN, "admins", "TestMessage", {"message": "hi"})
    assert (result.delivered, result.gone) == (1, 1)
    assert fake_hub.connection("stale") is None
    assert fake_hub.counts().model_dump() == {
        "connections": 1,
        "groups": {"admins": 1, "user-activity": 0, "analytics": 0, "alerts": 0},
    }


def test_publish_requires_the_publish_role(fake_hub: RealtimeHub) -> None:
    with pytest.raises(Forbidden):
        fake_hub.publish(VIEWER, "alerts", "TestMessage", {"message": "x"})


def test_rejected_publishes_never_burn_a_seq(fake_hub: RealtimeHub) -> None:
    with pytest.raises(PayloadTooLarge):
        big = {"userId": "u", "action": "a", "details": {"b": "x" * 140_000}}
        fake_hub.publish(ADMIN, "user-activity", "UserAction", big)
    with pytest.raises(ValidationFailed):
        fake_hub.publish(ADMIN, "admins", "Alert", {"title": "no message"})
    with pytest.raises(UnknownGroup):
        fake_hub.publish(ADMIN, "nope", "TestMessage", {"message": "x"})
    assert fake_hub.publish(ADMIN, "admins", "TestMessage", {"message": "x"}).seq == 1


def test_platform_snapshot_keeps_the_latest_envelope_of_each_type(fake_hub: RealtimeHub) -> None:
    fake_hub.publish(ADMIN, "analytics", "UserCountUpdate", {"totalUsers": 1, "activeUsers": 1})
    last = fake_hub.publish(ADMIN, "analytics", "UserCountUpdate", {"totalUsers": 2, "activeUsers": 1})
    snapshot = fake_hub.platform_snapshot()
    assert snapshot["latest"]["UserCountUpdate"]["id"] == last.id
    assert snapshot["latest"]["UserCountUpdate"]["data"] == {"totalUsers": 2, "activeUsers": 1}


def test_reply_to_a_gone_connection_removes_it(fake_hub: RealtimeHub, sender: FakeSender) -> None:
    fake_hub.connect("c1", ADMIN)
    sender.gone.add("c1")
    assert fake_hub.reply("c1", {"type": "Pong"}) is False
    assert fake_hub.connection_count() == 0
