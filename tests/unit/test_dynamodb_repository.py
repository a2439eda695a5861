"""The DynamoDB adapter against moto: exact counts, idempotent removal, pagination."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from realtime.adapters.dynamodb import DynamoRepository
from realtime.domain.models import Connection, Envelope, GroupState, Removal
from realtime.errors import ConnectionGone
from tests.conftest import TABLE
from tests.fakes import OneRequestAtATime

GROUPS = ["admins", "user-activity", "analytics", "alerts"]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def connection(cid: str, user: str = "alice") -> Connection:
    return Connection(
        connection_id=cid,
        user_id=user,
        roles=frozenset({"admin"}),
        connected_at=NOW,
        expires_at=NOW + timedelta(hours=2),
    )


def join(repository: DynamoRepository, conn: Connection, group: str) -> str | None:
    return repository.join(conn, group, repository.group_state(group), replaying=False)


def envelope(group: str, seq: int, epoch: str) -> Envelope:
    return Envelope(type="Alert", group=group, id=f"m{seq}", seq=seq, epoch=epoch, ts="t", data={})


def append(repository: DynamoRepository, group: str, history_limit: int = 1000) -> Envelope:
    return repository.append(
        group,
        lambda seq, epoch: envelope(group, seq, epoch),
        history_ttl=3600,
        history_limit=history_limit,
        now=NOW,
    ).envelope


def counts(repository: DynamoRepository) -> tuple[int, dict[str, int]]:
    result = repository.counts(GROUPS)
    return result.connections, {g: n for g, n in result.groups.items() if n}


def test_connection_round_trips(repository: DynamoRepository) -> None:
    repository.add_connection(connection("c1"), ["admins"])
    assert repository.get_connection("c1") == connection("c1")
    assert repository.get_connection("missing") is None


def test_counts_stay_exact_through_churn(repository: DynamoRepository) -> None:
    repository.add_connection(connection("c1"), ["admins"])
    repository.add_connection(connection("c2", "bob"), ["admins"])
    assert join(repository, connection("c1"), "alerts") == "joined"
    assert join(repository, connection("c1"), "alerts") == "member"  # already a member
    assert counts(repository) == (2, {"admins": 2, "alerts": 1})

    assert repository.unsubscribe("c1", "alerts") is True
    assert repository.unsubscribe("c1", "alerts") is False
    assert counts(repository) == (2, {"admins": 2})

    assert repository.remove_connection("c1") == Removal(connection_id="c1", user_id="alice", groups=["admins"])
    assert repository.remove_connection("c1") is None  # a second $disconnect changes nothing
    assert counts(repository) == (1, {"admins": 1})
    assert repository.connection_count() == 1


def test_removal_takes_every_membership(repository: DynamoRepository) -> None:
    repository.add_connection(connection("c1"), ["admins"])
    for group in ("alerts", "analytics"):
        join(repository, connection("c1"), group)
    removal = repository.remove_connection("c1")
    assert removal is not None
    assert sorted(removal.groups) == ["admins", "alerts", "analytics"]
    assert counts(repository) == (0, {})
    assert all(list(repository.member_pages(group)) in ([], [[]]) for group in GROUPS)


def test_subscribe_after_disconnect_raises_gone(repository: DynamoRepository) -> None:
    repository.add_connection(connection("c1"), [])
    repository.remove_connection("c1")
    with pytest.raises(ConnectionGone):
        join(repository, connection("c1"), "alerts")
    assert counts(repository) == (0, {})


def test_members_are_read_page_by_page(dynamodb_table: object) -> None:
    repository = DynamoRepository(dynamodb_table, TABLE, page_size=3)
    for i in range(8):
        repository.add_connection(connection(f"c{i}"), ["admins"])
    pages = list(repository.member_pages("admins"))
    assert len(pages) >= 3
    assert sorted(m.connection_id for page in pages for m in page) == sorted(f"c{i}" for i in range(8))


def test_concurrent_disconnects_decrement_once(dynamodb_table: object) -> None:
    repository = DynamoRepository(OneRequestAtATime(dynamodb_table), TABLE)
    repository.add_connection(connection("c1"), ["admins"])
    join(repository, connection("c1"), "alerts")
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(repository.remove_connection("c1"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts(repository) == (0, {})
    assert sum(result is not None for result in results) == 1


def test_seq_starts_at_one_and_is_per_group(repository: DynamoRepository) -> None:
    assert repository.group_state("alerts").seq == 0
    assert [append(repository, "alerts").seq for _ in range(3)] == [1, 2, 3]
    assert append(repository, "admins").seq == 1
    assert repository.group_state("alerts").seq == 3


def test_the_epoch_is_stable_and_per_group(repository: DynamoRepository) -> None:
    epoch = repository.group_state("alerts").epoch
    append(repository, "alerts")
    assert repository.group_state("alerts").epoch == epoch
    assert append(repository, "alerts").epoch == epoch
    assert repository.group_state("admins").epoch != epoch


def test_concurrent_publishers_get_gap_free_unique_seqs(dynamodb_table: object) -> None:
    repository = DynamoRepository(OneRequestAtATime(dynamodb_table), TABLE)
    seqs: list[int] = []
    lock = threading.Lock()

    def publish() -> None:
        for _ in range(10):
            seq = append(repository, "analytics").seq
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=publish) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seqs) == list(range(1, 61))
    page = repository.history("analytics", 0, 100, NOW)
    assert [e.seq for e in page.items] == list(range(1, 61))  # every seq has its message: no gap
    assert not page.more


def test_history_pages_and_keeps_at_most_the_limit(repository: DynamoRepository) -> None:
    for _ in range(7):
        append(repository, "alerts", history_limit=5)
    page = repository.history("alerts", 0, 3, NOW)
    assert ([e.seq for e in page.items], page.more) == ([3, 4, 5], True)
    page = repository.history("alerts", 5, 3, NOW)
    assert ([e.seq for e in page.items], page.more) == ([6, 7], False)


def test_expired_history_is_hidden(repository: DynamoRepository) -> None:
    append(repository, "alerts")
    page = repository.history("alerts", 0, 10, NOW + timedelta(hours=2))
    assert (page.items, page.more) == ([], False)


def test_join_refuses_a_stale_group_state(repository: DynamoRepository) -> None:
    repository.add_connection(connection("c1"), [])
    stale = repository.group_state("alerts")
    append(repository, "alerts")
    assert repository.join(connection("c1"), "alerts", stale, replaying=False) is None
    assert counts(repository) == (1, {})


def test_a_replaying_member_is_skipped_until_it_goes_live(repository: DynamoRepository) -> None:
    repository.add_connection(connection("c1"), [])
    append(repository, "alerts")
    assert repository.join(
        connection("c1"),
        "alerts",
        GroupState(seq=1, epoch=repository.group_state("alerts").epoch),
        replaying=True,
    )
    [[member]] = list(repository.member_pages("alerts"))
    assert member.replaying and not member.receives(2)
    append(repository, "alerts")  # seq 2 arrives during the replay
    assert repository.go_live("c1", "alerts", 1) is False  # seq 2 must be replayed first
    assert repository.go_live("c1", "alerts", 2) is True
    [[member]] = list(repository.member_pages("alerts"))
    assert (member.replaying, member.receives(2), member.receives(3)) == (False, False, True)


def test_expired_connections_are_found_by_the_sweep_index(repository: DynamoRepository) -> None:
    repository.add_connection(connection("old"), ["admins"])
    fresh = connection("fresh").model_copy(update={"expires_at": NOW + timedelta(hours=5)})
    repository.add_connection(fresh, ["admins"])
    assert list(repository.expired_connections(NOW + timedelta(hours=3))) == ["old"]
    assert list(repository.expired_connections(NOW + timedelta(hours=3))) == []  # the cursor moved on
    repository.remove_connection("old")
    assert list(repository.expired_connections(NOW + timedelta(hours=6))) == ["fresh"]


def test_user_connections_are_indexed(repository: DynamoRepository) -> None:
    repository.add_connection(connection("t1"), [])
    repository.add_connection(connection("t2"), [])
    repository.add_connection(connection("b1", "bob"), [])
    assert sorted(c for page in repository.user_connection_pages("alice") for c in page) == ["t1", "t2"]
    repository.remove_connection("t1")
    assert [c for page in repository.user_connection_pages("alice") for c in page] == ["t2"]


def test_latest_never_goes_back_to_an_older_seq(repository: DynamoRepository) -> None:
    repository.save_latest(envelope("alerts", 2, "e"))
    repository.save_latest(envelope("alerts", 1, "e"))  # a slower publisher finishing late
    assert repository.latest()["Alert"].seq == 2
    repository.save_latest(envelope("alerts", 3, "e"))
    assert repository.latest()["Alert"].seq == 3


def test_the_connection_item_outlives_its_other_items_under_ttl(repository: DynamoRepository, dynamodb_table) -> None:
    repository.add_connection(connection("c1"), ["admins"])
    items = dynamodb_table.scan(TableName=TABLE)["Items"]  # a test may look at everything
    ttls = {(item["pk"]["S"], item["sk"]["S"]): int(item["ttl"]["N"]) for item in items if "ttl" in item}
    meta = ttls.pop(("CONN#c1", "META"))
    assert ttls and all(meta > ttl for ttl in ttls.values())
