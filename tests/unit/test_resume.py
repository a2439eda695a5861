"""Gap-free resume: replay from history, then live, with no gap and no duplicate at the
boundary — including messages published while the replay is in flight."""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime.adapters.dynamodb import DynamoStores
from realtime.bootstrap import Hub, wire
from realtime.config import HubSettings
from realtime.domain.models import Connection, Identity
from realtime.domain.subscriptions import Subscription
from realtime.protocol import Subscribed
from tests.conftest import TABLE, create_table, ports_of
from tests.fakes import FakeClock, FakeSender
from tests.memory import MemoryStores
from tests.support import publish

ADMIN = Identity(user_id="alice", roles=frozenset({"admin"}))


def publish_n(hub: Hub, n: int = 1) -> None:
    for _ in range(n):
        publish(hub, ADMIN, "TestMessage", {"message": "m"}, group="alerts")


def received(sender: FakeSender, connection_id: str) -> list[dict]:
    return [json.loads(frame) for frame in sender.sent[connection_id]]


def seqs(sender: FakeSender, connection_id: str) -> list[int]:
    return [
        f["seq"]
        for f in received(sender, connection_id)
        if f.get("group") == "alerts" and "seq" in f and f.get("type") == "TestMessage"
    ]


def reply(subscription: Subscription) -> dict:
    return Subscribed(
        group=subscription.group, seq=subscription.seq, epoch=subscription.epoch, recovered=subscription.recovered
    ).frame()


def resume(hub: Hub, connection: Connection, since: int, epoch: str) -> dict:
    """What the message route does: the Subscribed reply, then the replay."""
    subscription = hub.subscriptions.subscribe(connection, "alerts", since=since, epoch=epoch)
    hub.departures.reply(connection.connection_id, reply(subscription))
    if subscription.recovered:
        hub.subscriptions.replay(connection, "alerts", since)
    return reply(subscription)


def test_a_client_that_comes_back_gets_exactly_what_it_missed_then_live(hub: Hub, sender: FakeSender) -> None:
    first = hub.connections.connect("c1", ADMIN)
    epoch = hub.subscriptions.subscribe(first, "alerts").epoch
    publish_n(hub, 5)
    assert seqs(sender, "c1") == [1, 2, 3, 4, 5]
    hub.connections.disconnect("c1")
    publish_n(hub, 5)  # 6-10 while it is away

    second = hub.connections.connect("c2", ADMIN)
    reply = resume(hub, second, since=5, epoch=epoch)
    assert reply == {"type": "Subscribed", "group": "alerts", "seq": 10, "epoch": epoch, "recovered": True}
    publish_n(hub)  # live 11
    assert seqs(sender, "c2") == [6, 7, 8, 9, 10, 11]
    assert received(sender, "c2")[0]["type"] == "Subscribed"  # the reply comes first


def test_messages_published_during_the_replay_are_neither_lost_nor_doubled(hub: Hub, sender: FakeSender) -> None:
    epoch = hub.subscriptions.subscribe(hub.connections.connect("c0", ADMIN), "alerts").epoch
    publish_n(hub, 5)
    second = hub.connections.connect("c2", ADMIN)

    def publish_while_replaying(connection_id: str, frame: bytes) -> None:
        message = json.loads(frame)
        if connection_id == "c2" and message.get("seq") in (2, 4, 7):  # mid-replay, twice
            sender.after_send = None
            publish_n(hub, 2)
            sender.after_send = publish_while_replaying

    sender.after_send = publish_while_replaying
    resume(hub, second, since=1, epoch=epoch)
    sender.after_send = None
    publish_n(hub)
    assert seqs(sender, "c2") == list(range(2, 13))


@pytest.mark.parametrize(
    ("since", "epoch_ok", "why"),
    [(3, False, "another epoch"), (50, True, "since is in the future"), (0, True, "history expired")],
)
def test_when_history_does_not_cover_since_nothing_is_replayed(
    hub: Hub, sender: FakeSender, clock: FakeClock, since: int, epoch_ok: bool, why: str
) -> None:
    epoch = hub.subscriptions.subscribe(hub.connections.connect("c0", ADMIN), "alerts").epoch
    publish_n(hub, 5)
    if why == "history expired":
        clock.sleep(3 * 3600)
        publish_n(hub)
    connection = hub.connections.connect("c2", ADMIN)
    reply = resume(hub, connection, since=since, epoch=epoch if epoch_ok else "other")
    assert reply["recovered"] is False, why
    assert seqs(sender, "c2") == []
    publish_n(hub)
    assert seqs(sender, "c2") == [reply["seq"] + 1]  # live from the reply's seq on


def test_too_long_a_gap_is_not_replayed(
    hub_settings: HubSettings, stores: MemoryStores, sender: FakeSender, clock: FakeClock
) -> None:
    limited = hub_settings.model_copy(update={"replay_max_messages": 3})
    hub = wire(limited, ports_of(stores, sender=sender, clock=clock, executor=ThreadPoolExecutor(max_workers=2)))
    epoch = hub.subscriptions.subscribe(hub.connections.connect("c0", ADMIN), "alerts").epoch
    publish_n(hub, 5)
    assert resume(hub, hub.connections.connect("c2", ADMIN), since=1, epoch=epoch)["recovered"] is False
    assert resume(hub, hub.connections.connect("c3", ADMIN), since=2, epoch=epoch)["recovered"] is True
    assert seqs(sender, "c3") == [3, 4, 5]


# -- property: any interleaving of publish / disconnect / resume --------------------------

Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("publish"), st.integers(1, 3)),
        st.tuples(st.just("drop"), st.just(0)),
        st.tuples(st.just("resume"), st.just(0)),
        st.tuples(st.just("publish-during-replay"), st.integers(1, 2)),
    ),
    min_size=1,
    max_size=12,
)


def run_plan(hub_settings: HubSettings, stores: Any, plan: list[Step]) -> None:
    """Play the plan with one client; it must have seen every seq exactly once, in order."""
    group = "alerts"
    sender, clock = FakeSender(), FakeClock()
    with ThreadPoolExecutor(max_workers=4) as pool:
        hub = wire(hub_settings, ports_of(stores, sender=sender, clock=clock, executor=pool))
        delivered: list[int] = []  # what the client saw, across all its connections, in order
        counter = iter(range(1, 10_000))
        current = hub.connections.connect(f"c{next(counter)}", ADMIN)
        epoch = hub.subscriptions.subscribe(current, group).epoch
        online, pending_publishes = True, 0

        def record(connection_id: str, frame: bytes) -> None:
            nonlocal pending_publishes
            message = json.loads(frame)
            if connection_id == current.connection_id and message.get("type") == "TestMessage":
                delivered.append(message["seq"])
                if pending_publishes:
                    count, pending_publishes = pending_publishes, 0
                    publish_n(hub, count)

        sender.after_send = record
        for action, n in plan:
            if action == "publish":
                publish_n(hub, n)
            elif action == "drop" and online:
                hub.connections.disconnect(current.connection_id)
                online = False
            elif action == "resume" and not online:
                current = hub.connections.connect(f"c{next(counter)}", ADMIN)
                last = delivered[-1] if delivered else 0
                assert resume(hub, current, last, epoch)["recovered"] is True
                online = True
            elif action == "publish-during-replay" and not online:
                publish_n(hub, 1)
                pending_publishes = n
                current = hub.connections.connect(f"c{next(counter)}", ADMIN)
                last = delivered[-1] if delivered else 0
                assert resume(hub, current, last, epoch)["recovered"] is True
                online = True
        if not online:
            current = hub.connections.connect(f"c{next(counter)}", ADMIN)
            resume(hub, current, delivered[-1] if delivered else 0, epoch)
        publish_n(hub)
    assert delivered == list(range(1, stores.streams.state(group).seq + 1))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_a_resuming_client_sees_every_seq_exactly_once_in_order(hub_settings: HubSettings, plan: list[Step]) -> None:
    run_plan(hub_settings, MemoryStores(), plan)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=steps)
def test_the_same_holds_on_the_dynamodb_stores(
    hub_settings: HubSettings, dynamodb_table: Any, plan: list[Step]
) -> None:
    dynamodb_table.delete_table(TableName=TABLE)
    create_table(dynamodb_table)
    run_plan(hub_settings, DynamoStores.of(dynamodb_table, TABLE), plan)
