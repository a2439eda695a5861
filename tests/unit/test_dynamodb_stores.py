"""What only the DynamoDB stores can show (tests/contract/ covers what both stores do):
pages of members, one answer to concurrent removals and publishers, the TTL order of a
connection's items."""

import threading
from datetime import UTC, datetime, timedelta

from realtime.adapters.dynamodb import DynamoStores
from realtime.adapters.dynamodb.memberships import MAX_SHARDS, Placement, shard_of
from realtime.domain.models import Connection, Envelope, GroupState
from tests.conftest import TABLE
from tests.fakes import OneRequestAtATime

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def connection(cid: str, user: str = "alice") -> Connection:
    return Connection(
        connection_id=cid,
        user_id=user,
        roles=frozenset({"admin"}),
        connected_at=NOW,
        expires_at=NOW + timedelta(hours=2),
    )


def append(stores: DynamoStores, group: str) -> Envelope:
    return stores.streams.append(
        group,
        lambda seq, epoch: Envelope(type="Alert", group=group, id=f"m{seq}", seq=seq, epoch=epoch, ts="t", data={}),
        history_ttl=3600,
        history_limit=1000,
        now=NOW,
    ).envelope


def test_members_are_read_page_by_page(dynamodb_table: object) -> None:
    stores = DynamoStores.of(dynamodb_table, TABLE, page_size=3)
    for i in range(8):
        stores.connections.add(connection(f"c{i}"), ["admins"])
    pages = list(stores.memberships.members("admins"))
    assert len(pages) >= 3
    assert sorted(m.connection_id for page in pages for m in page) == sorted(f"c{i}" for i in range(8))


def test_concurrent_disconnects_decrement_once(dynamodb_table: object) -> None:
    stores = DynamoStores.of(OneRequestAtATime(dynamodb_table), TABLE)
    stores.connections.add(connection("c1"), ["admins"])
    stores.memberships.join(connection("c1"), "alerts", stores.streams.state("alerts"), replaying=False)
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(stores.connections.remove("c1"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stores.memberships.counts(["admins", "alerts"]).model_dump() == {
        "connections": 0,
        "groups": {"admins": 0, "alerts": 0},
    }
    assert sum(result is not None for result in results) == 1


def test_concurrent_publishers_get_gap_free_unique_seqs(dynamodb_table: object) -> None:
    stores = DynamoStores.of(OneRequestAtATime(dynamodb_table), TABLE)
    seqs: list[int] = []
    lock = threading.Lock()

    def publish() -> None:
        for _ in range(10):
            seq = append(stores, "analytics").seq
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=publish) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seqs) == list(range(1, 61))
    page = stores.streams.history("analytics", 0, 100, NOW)
    assert [e.seq for e in page.items] == list(range(1, 61))  # every seq has its message: no gap
    assert not page.more


def test_the_connection_item_outlives_its_other_items_under_ttl(dynamo: DynamoStores, dynamodb_table) -> None:
    dynamo.connections.add(connection("c1"), ["admins"])
    items = dynamodb_table.scan(TableName=TABLE)["Items"]  # a test may look at everything
    ttls = {(item["pk"]["S"], item["sk"]["S"]): int(item["ttl"]["N"]) for item in items if "ttl" in item}
    meta = ttls.pop(("CONN#c1", "META"))
    assert ttls and all(meta > ttl for ttl in ttls.values())


def test_an_unreadable_stored_message_is_skipped_not_fatal(dynamo: DynamoStores, dynamodb_table) -> None:
    from realtime.adapters.dynamodb.keys import history_pk, seq_sk
    from realtime.adapters.dynamodb.table import to_attributes

    for _ in range(3):
        append(dynamo, "alerts")
    for bad in ('{"a":' * 300 + "1" + "}" * 300, "not json"):
        dynamodb_table.put_item(  # as an older writer could have
            TableName=TABLE,
            Item=to_attributes({"pk": history_pk("alerts"), "sk": seq_sk(2), "envelope": bad, "ttl": 2**40}),
        )
        page = dynamo.streams.history("alerts", 0, 10, NOW)
        assert ([e.seq for e in page.items], page.skipped, page.last_seq) == ([1, 3], [2], 3)


def test_placement_spreads_members_and_grows_shards_with_the_group() -> None:
    state = GroupState(epoch="e", members=4999, shards=4)
    placement = Placement(state, "c1", shard_size=1000)
    assert placement.grow_to == 5 and 0 <= placement.shard < 5
    assert Placement(GroupState(epoch="e", members=10, shards=7), "c1", 1000).grow_to is None  # never shrinks
    huge = Placement(GroupState(epoch="e", members=10**9, shards=MAX_SHARDS), "c1", 1000)
    assert huge.grow_to is None and huge.shard < MAX_SHARDS
    counts = [0] * 8
    for i in range(8000):
        counts[shard_of(f"conn-{i}=", 8)] += 1
    assert min(counts) > 850 and max(counts) < 1150  # even enough to split the load
