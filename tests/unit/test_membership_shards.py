"""Property: whatever the order of joins and leaves, a sharded group's members are all
found by the fan-out (no member outside the shards it reads), each exactly once, and its
member count is exact; shards grow with the peak and never shrink."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime.adapters.dynamodb import DynamoRepository
from realtime.adapters.dynamodb.groups import MAX_SHARDS, Placement, shard_of
from realtime.domain.models import Connection, GroupState
from tests.conftest import TABLE

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_groups = itertools.count()


def connection(cid: str) -> Connection:
    return Connection(
        connection_id=cid,
        user_id="u",
        roles=frozenset({"admin"}),
        connected_at=NOW,
        expires_at=NOW + timedelta(hours=2),
    )


# Each step: (True, i) connects c<i> and joins it; (False, i) disconnects c<i>.
steps = st.lists(st.tuples(st.booleans(), st.integers(0, 11)), min_size=1, max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_every_member_is_found_once_in_the_shards(dynamodb_table: object, steps: list[tuple[bool, int]]) -> None:
    repository = DynamoRepository(dynamodb_table, TABLE, shard_size=2)
    group, prefix = f"g{next(_groups)}", f"x{next(_groups)}-"
    members: set[str] = set()
    peak_shards = peak_members = 1
    for joining, i in steps:
        cid = f"{prefix}{i}"
        if joining and cid not in members and repository.get_connection(cid) is None:
            repository.add_connection(connection(cid), [])
            assert repository.join(connection(cid), group, repository.group_state(group), replaying=False)
            members.add(cid)
        elif not joining and cid in members:
            assert repository.remove_connection(cid) is not None
            members.discard(cid)
        peak_members = max(peak_members, len(members))
        state = repository.group_state(group)
        found = [m.connection_id for page in repository.member_pages(group) for m in page]
        assert sorted(found) == sorted(members)  # all of them, each once
        assert state.members == len(members)
        assert state.shards >= peak_shards  # never shrinks…
        peak_shards = state.shards
        assert state.shards <= -(-peak_members // 2)  # …and never exceeds what the peak needed


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
