"""What every implementation of the stores' ports must do (tests/contract/conftest.py runs
each test on DynamoDB and in memory): exact counts, idempotent removal, conditioned joins,
gap-free sequences, TTL-hidden history, shards, progress and budgets."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime.domain.models import Connection, Envelope, FanoutResult, GroupState, Removal, SliceProgress
from realtime.errors import ConnectionGone

GROUPS = ["admins", "user-activity", "analytics", "alerts"]
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def connection(cid: str, user: str = "alice", **changes: Any) -> Connection:
    base = Connection(
        connection_id=cid,
        user_id=user,
        roles=frozenset({"admin"}),
        connected_at=NOW,
        expires_at=NOW + timedelta(hours=2),
    )
    return base.model_copy(update=changes)


def envelope(group: str, seq: int, epoch: str, message_id: str | None = None) -> Envelope:
    return Envelope(type="Alert", group=group, id=message_id or f"m{seq}", seq=seq, epoch=epoch, ts="t", data={})


def append(
    stores: Any, group: str, *, history_limit: int = 1000, queue_above: int | None = None, now: datetime = NOW
) -> Any:
    return stores.streams.append(
        group,
        lambda seq, epoch: envelope(group, seq, epoch, f"{group}-{seq}"),
        history_ttl=3600,
        history_limit=history_limit,
        now=now,
        queue_above=queue_above,
    )


def join(stores: Any, conn: Connection, group: str, *, replaying: bool = False) -> Any:
    return stores.memberships.join(conn, group, stores.streams.state(group), replaying=replaying)


def counts(stores: Any) -> tuple[int, dict[str, int]]:
    result = stores.memberships.counts(GROUPS)
    return result.connections, {g: n for g, n in result.groups.items() if n}


def members(stores: Any, group: str, **options: Any) -> list[str]:
    return [m.connection_id for page in stores.memberships.members(group, **options) for m in page]


# -- connections ------------------------------------------------------------------------------


def test_a_connection_round_trips(stores: Any) -> None:
    stores.connections.add(connection("c1"), ["admins"])
    assert stores.connections.get("c1") == connection("c1")
    assert stores.connections.get("missing") is None
    assert stores.connections.groups_of("c1") == ["admins"]


def test_counts_stay_exact_through_churn(stores: Any) -> None:
    stores.connections.add(connection("c1"), ["admins"])
    stores.connections.add(connection("c2", "bob"), ["admins"])
    assert join(stores, connection("c1"), "alerts") == "joined"
    assert join(stores, connection("c1"), "alerts") == "member"  # already a member
    assert counts(stores) == (2, {"admins": 2, "alerts": 1})

    assert stores.memberships.leave("c1", "alerts") is True
    assert stores.memberships.leave("c1", "alerts") is False
    assert counts(stores) == (2, {"admins": 2})

    assert stores.connections.remove("c1") == Removal(connection_id="c1", user_id="alice", groups=["admins"])
    assert stores.connections.remove("c1") is None  # a second $disconnect changes nothing
    assert counts(stores) == (1, {"admins": 1})
    assert stores.connections.count() == 1


def test_removal_takes_every_membership(stores: Any) -> None:
    stores.connections.add(connection("c1"), ["admins"])
    for group in ("alerts", "analytics"):
        join(stores, connection("c1"), group)
    removal = stores.connections.remove("c1")
    assert removal is not None and removal.groups == ["admins", "alerts", "analytics"]
    assert counts(stores) == (0, {})
    assert all(members(stores, group) == [] for group in GROUPS)


def test_joining_after_a_disconnect_raises_gone(stores: Any) -> None:
    stores.connections.add(connection("c1"), [])
    stores.connections.remove("c1")
    with pytest.raises(ConnectionGone):
        join(stores, connection("c1"), "alerts")
    assert counts(stores) == (0, {})


def test_due_connections_are_found_by_the_sweep_index(stores: Any) -> None:
    stores.connections.add(connection("old"), ["admins"])
    stores.connections.add(connection("fresh", expires_at=NOW + timedelta(hours=5)), ["admins"])
    assert list(stores.connections.due(NOW + timedelta(hours=3))) == ["old"]
    assert list(stores.connections.due(NOW + timedelta(hours=3))) == []  # the cursor moved on
    stores.connections.remove("old")
    assert list(stores.connections.due(NOW + timedelta(hours=6))) == ["fresh"]


def test_a_refresh_moves_the_sweep_time_and_the_roles(stores: Any) -> None:
    current = connection("c1", sweep_at=NOW + timedelta(minutes=10))
    stores.connections.add(current, [])
    updated = current.model_copy(
        update={
            "roles": frozenset({"viewer"}),
            "token_expires_at": NOW + timedelta(hours=1),
            "sweep_at": NOW + timedelta(hours=1),
        }
    )
    assert stores.connections.refresh(current, updated) is True
    assert stores.connections.get("c1") == updated
    assert list(stores.connections.due(NOW + timedelta(minutes=30))) == []  # no longer due at 10 minutes
    assert list(stores.connections.due(NOW + timedelta(hours=2))) == ["c1"]
    assert stores.connections.remove("c1") is not None
    assert stores.connections.refresh(current, updated) is False  # gone


def test_user_connections_are_indexed(stores: Any) -> None:
    stores.connections.add(connection("t1"), [])
    stores.connections.add(connection("t2"), [])
    stores.connections.add(connection("b1", "bob"), [])
    assert sorted(c for page in stores.connections.of_user("alice") for c in page) == ["t1", "t2"]
    stores.connections.remove("t1")
    assert [c for page in stores.connections.of_user("alice") for c in page] == ["t2"]


# -- memberships ------------------------------------------------------------------------------


def test_a_join_refuses_a_stale_group_state(stores: Any) -> None:
    stores.connections.add(connection("c1"), [])
    stale = stores.streams.state("alerts")
    append(stores, "alerts")
    assert stores.memberships.join(connection("c1"), "alerts", stale, replaying=False) is None
    assert counts(stores) == (1, {})


def test_a_replaying_member_is_skipped_until_it_goes_live(stores: Any) -> None:
    stores.connections.add(connection("c1"), [])
    append(stores, "alerts")
    state = GroupState(seq=1, epoch=stores.streams.state("alerts").epoch)
    assert stores.memberships.join(connection("c1"), "alerts", state, replaying=True)
    [[member]] = list(stores.memberships.members("alerts"))
    assert member.replaying and not member.receives(2)
    append(stores, "alerts")  # seq 2 arrives during the replay
    assert stores.memberships.go_live("c1", "alerts", 1) is False  # seq 2 must be replayed first
    assert stores.memberships.go_live("c1", "alerts", 2) is True
    [[member]] = list(stores.memberships.members("alerts"))
    assert (member.replaying, member.receives(2), member.receives(3)) == (False, False, True)
    assert stores.memberships.go_live("nobody", "alerts", 2) is True  # a member that left: nothing to do


def test_presence_counts_distinct_users(stores: Any) -> None:
    for cid, user in (("a1", "alice"), ("a2", "alice"), ("b1", "bob")):
        stores.connections.add(connection(cid, user), ["alerts"])
    assert stores.memberships.users("alerts") == ["alice", "bob"]
    stores.connections.remove("a1")
    assert stores.memberships.users("alerts") == ["alice", "bob"]
    stores.memberships.leave("a2", "alerts")
    assert stores.memberships.users("alerts") == ["bob"]


def test_occupancy_flips_once_each_way(make: Any) -> None:
    stores = make(track_occupancy=True)
    assert stores.connections.add(connection("a"), ["admins"]) == ["admins"]  # the first member
    assert stores.connections.add(connection("b", "bob"), ["admins"]) == []
    assert stores.memberships.mark_vacated("admins") is False  # members left
    stores.connections.remove("a")
    stores.connections.remove("b")
    assert stores.memberships.mark_vacated("admins") is True
    assert stores.memberships.mark_vacated("admins") is False  # flipped once
    assert stores.streams.state("admins").occupied is False


# -- streams and latest values ----------------------------------------------------------------


def test_seq_starts_at_one_and_is_per_group(stores: Any) -> None:
    assert stores.streams.state("alerts").seq == 0
    assert [append(stores, "alerts").envelope.seq for _ in range(3)] == [1, 2, 3]
    assert append(stores, "admins").envelope.seq == 1
    assert stores.streams.state("alerts").seq == 3


def test_the_epoch_is_stable_and_per_group(stores: Any) -> None:
    epoch = stores.streams.state("alerts").epoch
    assert epoch
    assert append(stores, "alerts").envelope.epoch == epoch
    assert stores.streams.state("alerts").epoch == epoch
    assert stores.streams.state("admins").epoch != epoch


def test_history_pages_and_keeps_at_most_the_limit(stores: Any) -> None:
    for _ in range(7):
        append(stores, "alerts", history_limit=5)
    page = stores.streams.history("alerts", 0, 3, NOW)
    assert ([e.seq for e in page.items], page.more, page.first_seq, page.last_seq) == ([3, 4, 5], True, 3, 5)
    page = stores.streams.history("alerts", 5, 3, NOW)
    assert ([e.seq for e in page.items], page.more) == ([6, 7], False)


def test_expired_history_is_hidden(stores: Any) -> None:
    append(stores, "alerts")
    page = stores.streams.history("alerts", 0, 10, NOW + timedelta(hours=2))
    assert (page.items, page.more, page.first_seq) == ([], False, None)


def test_a_queued_append_creates_its_progress_and_holds_the_group(stores: Any) -> None:
    for i in range(3):
        stores.connections.add(connection(f"c{i}"), ["admins"])
    inline = append(stores, "admins", queue_above=5)
    assert not inline.queued and inline.recipients == 3
    queued = append(stores, "admins", queue_above=2)
    assert queued.queued and queued.shards == 1
    assert stores.streams.state("admins").pending == 1
    follower = append(stores, "admins", queue_above=5)  # small, but an earlier message is still going out
    assert follower.queued
    progress = stores.progress.message_progress(queued.envelope.id)
    assert progress is not None and (progress.status, progress.recipients, progress.slices) == ("queued", 3, 1)


def test_latest_never_goes_back_to_an_older_seq(stores: Any) -> None:
    stores.latest.save(envelope("alerts", 2, "e"))
    stores.latest.save(envelope("alerts", 1, "e"))  # a slower publisher finishing late
    assert stores.latest.all()["Alert"].seq == 2
    stores.latest.save(envelope("alerts", 3, "e"))
    assert stores.latest.all()["Alert"].seq == 3


# -- queued fan-out progress ------------------------------------------------------------------


def test_slices_checkpoint_once_and_finish_the_message_once(stores: Any) -> None:
    stores.connections.add(connection("c1"), ["admins"])
    queued = append(stores, "admins", queue_above=0)
    mid = queued.envelope.id
    start = stores.progress.slice_progress(mid, 0)
    assert start == SliceProgress()
    page = FanoutResult(recipients=1, delivered=1)
    assert stores.progress.checkpoint_slice(mid, 0, start, "c1", page, done=False) is True
    assert stores.progress.checkpoint_slice(mid, 0, start, "c1", page, done=False) is False  # moved on
    at = stores.progress.slice_progress(mid, 0)
    assert at.after == "c1" and not at.done
    assert stores.progress.checkpoint_slice(mid, 0, at, "c1", FanoutResult(), done=True) is True
    assert stores.progress.slice_progress(mid, 0).done
    assert stores.progress.complete_slice(mid, 0, "admins") is True  # the only slice: the message is done
    assert stores.progress.complete_slice(mid, 0, "admins") is False  # idempotent
    progress = stores.progress.message_progress(mid)
    assert progress is not None
    assert (progress.status, progress.delivered, progress.slices_done, progress.done) == ("done", 1, 1, True)
    assert stores.streams.state("admins").pending == 0


def test_an_abandoned_message_fails_and_releases_its_group(stores: Any) -> None:
    queued = append(stores, "admins", queue_above=-1)
    stores.progress.abandon_message(queued.envelope.id, "admins")
    stores.progress.abandon_message(queued.envelope.id, "admins")  # once only
    progress = stores.progress.message_progress(queued.envelope.id)
    assert progress is not None and progress.status == "failed"
    assert stores.streams.state("admins").pending == 0
    assert stores.progress.message_progress("unknown") is None


# -- replay budgets -----------------------------------------------------------------------------


def test_the_replay_budget_counts_per_minute(stores: Any) -> None:
    stores.connections.add(connection("c1"), [])
    budget = stores.replay_budget
    assert budget.charge("c1", 100, 3, max_messages=5, max_bytes=1000) == 1000
    budget.add_bytes("c1", 100, 400)
    assert budget.charge("c1", 100, 2, max_messages=5, max_bytes=1000) == 600
    assert budget.charge("c1", 100, 1, max_messages=5, max_bytes=1000) is None  # 6 > 5
    budget.add_bytes("c1", 100, 600)
    assert budget.charge("c1", 101, 5, max_messages=5, max_bytes=1000) == 1000  # a new minute
    assert budget.charge("c1", 100, 1, max_messages=5, max_bytes=1000) is None  # an older minute
    assert budget.charge("nobody", 101, 1, max_messages=5, max_bytes=1000) is None


# -- shards (property) --------------------------------------------------------------------------

_groups = itertools.count()
# Each step: (True, i) connects c<i> and joins it; (False, i) disconnects c<i>.
steps = st.lists(st.tuples(st.booleans(), st.integers(0, 11)), min_size=1, max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_every_member_is_found_once_in_the_shards(make: Any, steps: list[tuple[bool, int]]) -> None:
    """Whatever the order of joins and leaves, a sharded group's members are all found by the
    fan-out (no member outside the shards it reads), each exactly once, and its member count
    is exact; shards grow with the peak and never shrink."""
    stores = make(shard_size=2)
    group, prefix = f"g{next(_groups)}", f"x{next(_groups)}-"
    current: set[str] = set()
    peak_shards = peak_members = 1
    for joining, i in steps:
        cid = f"{prefix}{i}"
        if joining and cid not in current and stores.connections.get(cid) is None:
            stores.connections.add(connection(cid, "u"), [])
            assert join(stores, connection(cid, "u"), group)
            current.add(cid)
        elif not joining and cid in current:
            assert stores.connections.remove(cid) is not None
            current.discard(cid)
        peak_members = max(peak_members, len(current))
        state = stores.streams.state(group)
        assert sorted(members(stores, group)) == sorted(current)  # all of them, each once
        assert state.members == len(current)
        assert state.shards >= peak_shards  # never shrinks…
        peak_shards = state.shards
        assert state.shards <= -(-peak_members // 2)  # …and never exceeds what the peak needed
