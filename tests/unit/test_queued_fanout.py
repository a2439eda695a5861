"""Sharded membership and the queued fan-out, over the DynamoDB stores (moto) with a fake
queue and sender: the shards and pages are the real adapter's."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from realtime.adapters.dynamodb import DynamoStores
from realtime.adapters.dynamodb.keys import member_pk
from realtime.bootstrap import Hub, wire
from realtime.config import HubSettings
from realtime.domain.models import Identity, PublishResult, QueuedPublish
from realtime.domain.slices import PAGES_IN_FLIGHT
from realtime.entrypoints.statuses import http_status
from realtime.errors import ServiceUnavailable, UnknownMessage
from tests.conftest import TABLE, ports_of
from tests.fakes import FakeClock, FakeQueue, FakeSender
from tests.support import publish

ADMIN = Identity(user_id="alice", roles=frozenset({"admin"}))
ALERT = {"title": "t", "message": "m"}


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue()


def make_hub(
    settings: HubSettings,
    stores: DynamoStores,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
    queue: FakeQueue,
) -> Hub:
    settings = settings.model_copy(update={"fanout_queue_threshold": 4})
    return wire(settings, ports_of(stores, sender=sender, clock=clock, executor=executor, queue=queue))


@pytest.fixture
def stores(dynamodb_table: object) -> DynamoStores:
    """Shards of 3 members."""
    return DynamoStores.of(dynamodb_table, TABLE, shard_size=3)


@pytest.fixture
def hub(
    hub_settings: HubSettings,
    stores: DynamoStores,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
    queue: FakeQueue,
) -> Hub:
    """Groups of more than 4 members are queued."""
    return make_hub(hub_settings, stores, sender, clock, executor, queue)


def connect(hub: Hub, count: int, prefix: str = "c") -> list[str]:
    ids = [f"{prefix}{i:03d}=" for i in range(count)]
    for cid in ids:
        hub.connections.connect(cid, ADMIN)  # joins admins
    return ids


def seqs(sender: FakeSender, cid: str) -> list[int]:
    return [json.loads(frame)["seq"] for frame in sender.sent[cid]]


def test_members_spread_over_shards_that_grow_with_the_group(
    hub: Hub, dynamodb_table: object, stores: DynamoStores
) -> None:
    ids = connect(hub, 10)
    state = stores.streams.state("admins")
    assert (state.members, state.shards) == (10, 4)  # ceil(10 / 3)
    per_shard = []
    for shard in range(state.shards):
        response = dynamodb_table.query(  # type: ignore[attr-defined]
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": member_pk("admins", shard)}},
        )
        per_shard.append(response["Count"])
    assert sum(per_shard) == 10 and sum(1 for n in per_shard if n) >= 2
    every = sorted(m.connection_id for page in stores.memberships.members("admins") for m in page)
    assert every == ids
    for cid in ids:
        hub.connections.disconnect(cid)
    assert hub.queries.counts().groups["admins"] == 0
    assert list(m for page in stores.memberships.members("admins") for m in page) == []


def test_small_groups_are_delivered_inline(hub: Hub, sender: FakeSender, queue: FakeQueue) -> None:
    ids = connect(hub, 4)
    result = publish(hub, ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    assert isinstance(result, PublishResult) and result.delivered == 4
    assert queue.slices == [] and all(seqs(sender, cid) == [1] for cid in ids)


def test_large_groups_are_queued_one_slice_per_shard_and_delivered_once(
    hub: Hub,
    sender: FakeSender,
    queue: FakeQueue,
    stores: DynamoStores,
) -> None:
    ids = connect(hub, 10)
    queued = publish(hub, ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    assert isinstance(queued, QueuedPublish)
    assert queued.model_dump() == {"id": queued.id, "group": "admins", "seq": 1, "status": "queued", "recipients": 10}
    assert sorted(s.shard for s in queue.slices) == [0, 1, 2, 3]
    assert sender.sent == {}  # nothing is delivered before the workers run
    progress = hub.queries.message_progress(ADMIN, queued.id).model_dump(by_alias=True)
    assert (progress["status"], progress["done"], progress["delivered"]) == ("queued", False, 0)

    slices = list(queue.slices)
    assert queue.drain(hub) == 4
    assert all(seqs(sender, cid) == [1] for cid in ids)
    progress = hub.queries.message_progress(ADMIN, queued.id).model_dump(by_alias=True)
    assert progress == {
        "id": queued.id,
        "group": "admins",
        "seq": 1,
        "status": "done",
        "recipients": 10,
        "delivered": 10,
        "gone": 0,
        "failed": 0,
        "slices": 4,
        "slicesDone": 4,
        "done": True,
    }
    assert stores.streams.state("admins").pending == 0

    for work in slices:  # SQS redelivers every slice: nobody receives it twice
        hub.slices.deliver(work)
    assert all(seqs(sender, cid) == [1] for cid in ids)
    assert hub.queries.message_progress(ADMIN, queued.id).model_dump(by_alias=True)["delivered"] == 10


def test_a_slice_interrupted_mid_way_resumes_from_its_checkpoint(
    hub_settings: HubSettings,
    dynamodb_table: object,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
    queue: FakeQueue,
) -> None:
    class CrashingSender(FakeSender):
        crash_after: int | None = None

        def send(self, connection_id: str, payload: bytes) -> None:
            if self.crash_after is not None and sum(len(v) for v in self.sent.values()) >= self.crash_after:
                raise RuntimeError("the worker was killed")
            super().send(connection_id, payload)

    sender = CrashingSender()
    small_pages = DynamoStores.of(dynamodb_table, TABLE, shard_size=100, page_size=2)
    hub = make_hub(hub_settings, small_pages, sender, clock, executor, queue)
    ids = connect(hub, 7)
    queued = publish(hub, ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    [work] = queue.slices
    sender.crash_after = 5  # pages of 2: two pages checkpointed, the third interrupted
    with pytest.raises(RuntimeError):
        hub.slices.deliver(work)
    sender.crash_after = None
    hub.slices.deliver(work)  # SQS redelivers after the visibility timeout

    received = {cid: seqs(sender, cid) for cid in ids}
    assert all(frames and set(frames) == {1} for frames in received.values())
    duplicated = [cid for cid, frames in received.items() if len(frames) > 1]
    assert len(duplicated) <= 2 * PAGES_IN_FLIGHT  # at most the pages in flight; clients dedupe by seq
    progress = hub.queries.message_progress(ADMIN, queued.id).model_dump(by_alias=True)
    assert (progress["delivered"], progress["done"]) == (7, True)  # counted once


def test_the_next_page_is_sent_while_the_previous_one_is_still_in_flight(
    hub_settings: HubSettings, dynamodb_table: object, clock: FakeClock, queue: FakeQueue
) -> None:
    class GatedSender(FakeSender):
        """Holds the first member's delivery until released."""

        def __init__(self, held: str) -> None:
            super().__init__()
            self.held, self.release, self.attempted = held, threading.Event(), set[str]()
            self.lock = threading.Lock()

        def send(self, connection_id: str, payload: bytes) -> None:
            with self.lock:
                self.attempted.add(connection_id)
            if connection_id == self.held:
                assert self.release.wait(10)
            super().send(connection_id, payload)

    small_pages = DynamoStores.of(dynamodb_table, TABLE, shard_size=100, page_size=2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        sender = GatedSender(held="c000=")
        hub = make_hub(hub_settings, small_pages, sender, clock, pool, queue)
        ids = connect(hub, 6)
        queued = publish(hub, ADMIN, "TestMessage", {"message": "hi"}, group="admins")
        [work] = queue.slices
        worker = threading.Thread(target=hub.slices.deliver, args=(work,))
        worker.start()
        try:
            deadline = threading.Event()
            for _ in range(200):  # the second page (c002=, c003=) goes out while c000= is held
                if {"c002=", "c003="} <= sender.attempted:
                    break
                deadline.wait(0.05)
            assert {"c002=", "c003="} <= sender.attempted
            assert "c004=" not in sender.attempted  # never more than PAGES_IN_FLIGHT pages queued
            progress = hub.queries.message_progress(ADMIN, queued.id).model_dump(by_alias=True)
            assert progress["delivered"] == 0  # nothing is checkpointed before its page returns
        finally:
            sender.release.set()
            worker.join(10)
    assert all(seqs(sender, cid) == [1] for cid in ids)
    progress = hub.queries.message_progress(ADMIN, queued.id).model_dump(by_alias=True)
    assert (progress["delivered"], progress["done"]) == (6, True)


def test_gone_members_are_removed_by_the_worker(hub: Hub, sender: FakeSender, queue: FakeQueue) -> None:
    ids = connect(hub, 6)
    sender.gone.add(ids[2])
    queued = publish(hub, ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    queue.drain(hub)
    progress = hub.queries.message_progress(ADMIN, queued.id).model_dump(by_alias=True)
    assert (progress["delivered"], progress["gone"], progress["done"]) == (5, 1, True)
    assert hub.connections.get(ids[2]) is None and hub.queries.counts().groups["admins"] == 5


def test_a_group_stays_queued_while_earlier_messages_are_in_flight(
    hub: Hub, sender: FakeSender, queue: FakeQueue
) -> None:
    ids = connect(hub, 6)
    first = publish(hub, ADMIN, "TestMessage", {"message": "1"}, group="admins")
    for cid in ids[3:]:
        hub.connections.disconnect(cid)  # the group shrinks below the threshold…
    second = publish(hub, ADMIN, "TestMessage", {"message": "2"}, group="admins")
    assert isinstance(first, QueuedPublish) and isinstance(second, QueuedPublish)  # …but 1 is not out yet
    queue.drain(hub)
    assert all(seqs(sender, cid) == [1, 2] for cid in ids[:3])
    third = publish(hub, ADMIN, "TestMessage", {"message": "3"}, group="admins")
    assert isinstance(third, PublishResult)  # nothing in flight, 3 members: inline again
    assert all(seqs(sender, cid) == [1, 2, 3] for cid in ids[:3])


def test_a_message_that_cannot_be_queued_fails_cleanly(hub: Hub, queue: FakeQueue, stores: DynamoStores) -> None:
    connect(hub, 6)
    queue.fail = True
    with pytest.raises(ServiceUnavailable):
        publish(hub, ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    assert stores.streams.state("admins").pending == 0
    queue.fail = False
    assert isinstance(publish(hub, ADMIN, "TestMessage", {"message": "again"}, group="admins"), QueuedPublish)


def test_progress_of_an_unknown_message_is_a_404(hub: Hub) -> None:
    with pytest.raises(UnknownMessage) as raised:
        hub.queries.message_progress(ADMIN, "nope")
    assert http_status(raised.value) == 404


def test_user_streams_are_never_queued(hub: Hub, sender: FakeSender, queue: FakeQueue) -> None:
    connect(hub, 6)
    result = publish(hub, ADMIN, "TestMessage", {"message": "hi"}, user_id="alice")
    assert isinstance(result, PublishResult) and result.delivered == 6 and queue.slices == []


def test_a_publish_racing_a_join_that_adds_a_shard_reads_the_group_again(
    hub: Hub,
    sender: FakeSender,
    queue: FakeQueue,
    stores: DynamoStores,
    clock: FakeClock,
) -> None:
    """The fan-out reads the shards the publish counted: a join that added a shard between
    the publish's read and its write (a join changes no seq) must not be missed."""
    from realtime.domain.models import Envelope

    ids = connect(hub, 4)  # 4 members in shards of 3: 2 shards; 3 more need a third
    streams, memberships = stores.streams, stores.memberships
    late = "late-joiner="
    calls: list[int] = []

    def build(seq: int, epoch: str) -> Envelope:
        if not calls:  # between the publish's read and its transaction, a join grows the group
            hub.connections.connect(late, ADMIN)
            hub.connections.connect("another=", ADMIN)
            hub.connections.connect("third=", ADMIN)
        calls.append(seq)
        return Envelope(type="TestMessage", group="admins", id="m", seq=seq, epoch=epoch, ts="t", data={})

    before = streams.state("admins").shards
    appended = streams.append("admins", build, history_ttl=60, history_limit=10, now=clock.now())
    assert len(calls) == 2  # the first attempt was refused: the shards had changed
    assert appended.shards == streams.state("admins").shards > before
    assert sorted(
        m.connection_id for page in memberships.members("admins", shards=appended.shards) for m in page
    ) == sorted([*ids, late, "another=", "third="])


def test_a_snapshot_that_cannot_be_kept_does_not_fail_a_delivered_publish(
    hub: Hub,
    sender: FakeSender,
    queue: FakeQueue,
    monkeypatch: pytest.MonkeyPatch,
    stores: DynamoStores,
) -> None:
    """Once delivered (or queued), a publish must not answer 503: the caller would publish again."""

    def throttled(_envelope: object) -> None:
        raise ServiceUnavailable("the database is busy; retry later")

    monkeypatch.setattr(stores.latest, "save", throttled)
    ids = connect(hub, 2)
    assert isinstance(publish(hub, ADMIN, "TestMessage", {"message": "inline"}, group="admins"), PublishResult)
    connect(hub, 4, prefix="d")
    assert isinstance(publish(hub, ADMIN, "TestMessage", {"message": "queued"}, group="admins"), QueuedPublish)
    queue.drain(hub)
    assert all(seqs(sender, cid) == [1, 2] for cid in ids)
