"""The DynamoDB adapter against moto: exact counts, idempotent removal, pagination."""

import threading
from datetime import UTC, datetime, timedelta

import pytest

from realtime.adapters.dynamodb import DynamoRepository
from realtime.domain.models import Connection, Envelope
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
    assert repository.subscribe(connection("c1"), "alerts") is True
    assert repository.subscribe(connection("c1"), "alerts") is False  # already a member
    assert counts(repository) == (2, {"admins": 2, "alerts": 1})

    assert repository.unsubscribe("c1", "alerts") is True
    assert repository.unsubscribe("c1", "alerts") is False
    assert counts(repository) == (2, {"admins": 2})

    assert repository.remove_connection("c1") == ["admins"]
    assert repository.remove_connection("c1") is None  # a second $disconnect changes nothing
    assert counts(repository) == (1, {"admins": 1})
    assert repository.connection_count() == 1


def test_removal_takes_every_membership(repository: DynamoRepository) -> None:
    repository.add_connection(connection("c1"), ["admins"])
    for group in ("alerts", "analytics"):
        repository.subscribe(connection("c1"), group)
    assert sorted(repository.remove_connection("c1") or []) == ["admins", "alerts", "analytics"]
    assert counts(repository) == (0, {})
    assert all(list(repository.member_pages(group)) in ([], [[]]) for group in GROUPS)


def test_subscribe_after_disconnect_raises_gone(repository: DynamoRepository) -> None:
    repository.add_connection(connection("c1"), [])
    repository.remove_connection("c1")
    with pytest.raises(ConnectionGone):
        repository.subscribe(connection("c1"), "alerts")
    assert counts(repository) == (0, {})


def test_members_are_read_page_by_page(dynamodb_table: object) -> None:
    repository = DynamoRepository(dynamodb_table, TABLE, page_size=3)
    for i in range(8):
        repository.add_connection(connection(f"c{i}"), ["admins"])
    pages = list(repository.member_pages("admins"))
    assert len(pages) >= 3
    assert sorted(cid for page in pages for cid in page) == sorted(f"c{i}" for i in range(8))


def test_concurrent_disconnects_decrement_once(dynamodb_table: object) -> None:
    repository = DynamoRepository(OneRequestAtATime(dynamodb_table), TABLE)
    repository.add_connection(connection("c1"), ["admins"])
    repository.subscribe(connection("c1"), "alerts")
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(repository.remove_connection("c1"))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts(repository) == (0, {})
    assert sum(result is not None for result in results) == 1


def test_seq_starts_at_one_and_is_per_group(repository: DynamoRepository) -> None:
    assert repository.last_seq("alerts") == 0
    assert [repository.next_seq("alerts") for _ in range(3)] == [1, 2, 3]
    assert repository.next_seq("admins") == 1
    assert repository.last_seq("alerts") == 3


def test_concurrent_publishers_get_gap_free_unique_seqs(dynamodb_table: object) -> None:
    repository = DynamoRepository(OneRequestAtATime(dynamodb_table), TABLE)
    seqs: list[int] = []
    lock = threading.Lock()

    def allocate() -> None:
        for _ in range(25):
            seq = repository.next_seq("analytics")
            with lock:
                seqs.append(seq)

    threads = [threading.Thread(target=allocate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seqs) == list(range(1, 201))


def test_latest_never_goes_back_to_an_older_seq(repository: DynamoRepository) -> None:
    def envelope(seq: int) -> Envelope:
        return Envelope(type="Alert", group="alerts", id=f"m{seq}", seq=seq, ts="t", data={})

    repository.save_latest(envelope(2))
    repository.save_latest(envelope(1))  # a slower publisher finishing late
    assert repository.latest()["Alert"].seq == 2
    repository.save_latest(envelope(3))
    assert repository.latest()["Alert"].seq == 3
