"""Sharded membership and the queued fan-out, over moto's DynamoDB with fake queue and sender."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from realtime.adapters.dynamodb import DynamoRepository
from realtime.adapters.dynamodb.table import member_pk
from realtime.config import HubSettings
from realtime.domain.hub import RealtimeHub
from realtime.domain.models import Identity, PublishResult, QueuedPublish
from realtime.errors import ServiceUnavailable, UnknownMessage
from tests.conftest import TABLE
from tests.fakes import FakeClock, FakeIdempotency, FakeQueue, FakeSender

ADMIN = Identity(user_id="alice", roles=frozenset({"admin"}))
ALERT = {"title": "t", "message": "m"}


@pytest.fixture
def queue() -> FakeQueue:
    return FakeQueue()


def make_hub(
    settings: HubSettings,
    table: object,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
    queue: FakeQueue,
    *,
    shard_size: int = 3,
    page_size: int | None = None,
) -> RealtimeHub:
    return RealtimeHub(
        settings.model_copy(update={"fanout_queue_threshold": 4}),
        repository=DynamoRepository(table, TABLE, shard_size=shard_size, page_size=page_size),
        sender=sender,
        clock=clock,
        executor=executor,
        idempotency=FakeIdempotency(),
        queue=queue,
    )


@pytest.fixture
def hub(
    hub_settings: HubSettings,
    dynamodb_table: object,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
    queue: FakeQueue,
) -> RealtimeHub:
    """Shards of 3 members; groups of more than 4 members are queued."""
    return make_hub(hub_settings, dynamodb_table, sender, clock, executor, queue)


def connect(hub: RealtimeHub, count: int, prefix: str = "c") -> list[str]:
    ids = [f"{prefix}{i:03d}=" for i in range(count)]
    for cid in ids:
        hub.connect(cid, ADMIN)  # joins admins
    return ids


def seqs(sender: FakeSender, cid: str) -> list[int]:
    return [json.loads(frame)["seq"] for frame in sender.sent[cid]]


def test_members_spread_over_shards_that_grow_with_the_group(hub: RealtimeHub, dynamodb_table: object) -> None:
    ids = connect(hub, 10)
    state = hub.repository.group_state("admins")
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
    every = sorted(m.connection_id for page in hub.repository.member_pages("admins") for m in page)
    assert every == ids
    for cid in ids:
        hub.disconnect(cid)
    assert hub.counts().groups["admins"] == 0
    assert list(m for page in hub.repository.member_pages("admins") for m in page) == []


def test_small_groups_are_delivered_inline(hub: RealtimeHub, sender: FakeSender, queue: FakeQueue) -> None:
    ids = connect(hub, 4)
    result = hub.publish(ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    assert isinstance(result, PublishResult) and result.delivered == 4
    assert queue.slices == [] and all(seqs(sender, cid) == [1] for cid in ids)


def test_large_groups_are_queued_one_slice_per_shard_and_delivered_once(
    hub: RealtimeHub, sender: FakeSender, queue: FakeQueue
) -> None:
    ids = connect(hub, 10)
    queued = hub.publish(ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    assert isinstance(queued, QueuedPublish)
    assert queued.model_dump() == {"id": queued.id, "group": "admins", "seq": 1, "status": "queued", "recipients": 10}
    assert sorted(s.shard for s in queue.slices) == [0, 1, 2, 3]
    assert sender.sent == {}  # nothing is delivered before the workers run
    progress = hub.message_progress(ADMIN, queued.id)
    assert (progress["status"], progress["done"], progress["delivered"]) == ("queued", False, 0)

    slices = list(queue.slices)
    assert queue.drain(hub) == 4
    assert all(seqs(sender, cid) == [1] for cid in ids)
    progress = hub.message_progress(ADMIN, queued.id)
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
    assert hub.repository.group_state("admins").pending == 0

    for work in slices:  # SQS redelivers every slice: nobody receives it twice
        hub.deliver_slice(work)
    assert all(seqs(sender, cid) == [1] for cid in ids)
    assert hub.message_progress(ADMIN, queued.id)["delivered"] == 10


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
    hub = make_hub(hub_settings, dynamodb_table, sender, clock, executor, queue, shard_size=100, page_size=2)
    ids = connect(hub, 7)
    queued = hub.publish(ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    [work] = queue.slices
    sender.crash_after = 5  # pages of 2: two pages checkpointed, the third interrupted
    with pytest.raises(RuntimeError):
        hub.deliver_slice(work)
    sender.crash_after = None
    hub.deliver_slice(work)  # SQS redelivers after the visibility timeout

    received = {cid: seqs(sender, cid) for cid in ids}
    assert all(frames and set(frames) == {1} for frames in received.values())
    duplicated = [cid for cid, frames in received.items() if len(frames) > 1]
    assert len(duplicated) <= 2  # at most the page in flight, which clients dedupe by seq
    progress = hub.message_progress(ADMIN, queued.id)
    assert (progress["delivered"], progress["done"]) == (7, True)  # counted once


def test_gone_members_are_removed_by_the_worker(hub: RealtimeHub, sender: FakeSender, queue: FakeQueue) -> None:
    ids = connect(hub, 6)
    sender.gone.add(ids[2])
    queued = hub.publish(ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    queue.drain(hub)
    progress = hub.message_progress(ADMIN, queued.id)
    assert (progress["delivered"], progress["gone"], progress["done"]) == (5, 1, True)
    assert hub.connection(ids[2]) is None and hub.counts().groups["admins"] == 5


def test_a_group_stays_queued_while_earlier_messages_are_in_flight(
    hub: RealtimeHub, sender: FakeSender, queue: FakeQueue
) -> None:
    ids = connect(hub, 6)
    first = hub.publish(ADMIN, "TestMessage", {"message": "1"}, group="admins")
    for cid in ids[3:]:
        hub.disconnect(cid)  # the group shrinks below the threshold…
    second = hub.publish(ADMIN, "TestMessage", {"message": "2"}, group="admins")
    assert isinstance(first, QueuedPublish) and isinstance(second, QueuedPublish)  # …but 1 is not out yet
    queue.drain(hub)
    assert all(seqs(sender, cid) == [1, 2] for cid in ids[:3])
    third = hub.publish(ADMIN, "TestMessage", {"message": "3"}, group="admins")
    assert isinstance(third, PublishResult)  # nothing in flight, 3 members: inline again
    assert all(seqs(sender, cid) == [1, 2, 3] for cid in ids[:3])


def test_a_message_that_cannot_be_queued_fails_cleanly(hub: RealtimeHub, queue: FakeQueue) -> None:
    connect(hub, 6)
    queue.fail = True
    with pytest.raises(ServiceUnavailable):
        hub.publish(ADMIN, "TestMessage", {"message": "hi"}, group="admins")
    assert hub.repository.group_state("admins").pending == 0
    queue.fail = False
    assert isinstance(hub.publish(ADMIN, "TestMessage", {"message": "again"}, group="admins"), QueuedPublish)


def test_progress_of_an_unknown_message_is_a_404(hub: RealtimeHub) -> None:
    with pytest.raises(UnknownMessage) as raised:
        hub.message_progress(ADMIN, "nope")
    assert raised.value.http_status == 404


def test_user_streams_are_never_queued(hub: RealtimeHub, sender: FakeSender, queue: FakeQueue) -> None:
    connect(hub, 6)
    result = hub.publish(ADMIN, "TestMessage", {"message": "hi"}, user_id="alice")
    assert isinstance(result, PublishResult) and result.delivered == 6 and queue.slices == []


def test_a_publish_racing_a_join_that_adds_a_shard_reads_the_group_again(
    hub: RealtimeHub, sender: FakeSender, queue: FakeQueue
) -> None:
    """The fan-out reads the shards the publish counted: a join that added a shard between
    the publish's read and its write (a join changes no seq) must not be missed."""
    from realtime.domain.models import Envelope

    ids = connect(hub, 4)  # 4 members in shards of 3: 2 shards; 3 more need a third
    repository = hub.repository
    late = "late-joiner="
    calls: list[int] = []

    def build(seq: int, epoch: str) -> Envelope:
        if not calls:  # between the publish's read and its transaction, a join grows the group
            hub.connect(late, ADMIN)
            hub.connect("another=", ADMIN)
            hub.connect("third=", ADMIN)
        calls.append(seq)
        return Envelope(type="TestMessage", group="admins", id="m", seq=seq, epoch=epoch, ts="t", data={})

    before = repository.group_state("admins").shards
    appended = repository.append("admins", build, history_ttl=60, history_limit=10, now=hub.clock.now())
    assert len(calls) == 2  # the first attempt was refused: the shards had changed
    assert appended.shards == repository.group_state("admins").shards > before
    assert sorted(
        m.connection_id for page in repository.member_pages("admins", shards=appended.shards) for m in page
    ) == sorted([*ids, late, "another=", "third="])


def test_a_snapshot_that_cannot_be_kept_does_not_fail_a_delivered_publish(
    hub: RealtimeHub, sender: FakeSender, queue: FakeQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once delivered (or queued), a publish must not answer 503: the caller would publish again."""

    def throttled(_envelope: object) -> None:
        raise ServiceUnavailable("the database is busy; retry later")

    monkeypatch.setattr(hub.repository, "save_latest", throttled)
    ids = connect(hub, 2)
    assert isinstance(hub.publish(ADMIN, "TestMessage", {"message": "inline"}, group="admins"), PublishResult)
    connect(hub, 4, prefix="d")
    assert isinstance(hub.publish(ADMIN, "TestMessage", {"message": "queued"}, group="admins"), QueuedPublish)
    queue.drain(hub)
    assert all(seqs(sender, cid) == [1, 2] for cid in ids)
