"""DynamoDB adapters: connections, memberships, sequences and history, latest values,
queued fan-out progress and replay budgets, all in one table. Each is a small store over a
shared `Table` (composition); `DynamoStores.of` builds them together.

See docs/architecture.md for the key design and its access patterns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from realtime.adapters.dynamodb.connections import ConnectionItem, DynamoConnections, DynamoReplayBudget
from realtime.adapters.dynamodb.keys import PK, SK, TTL_ATTRIBUTE
from realtime.adapters.dynamodb.memberships import DEFAULT_SHARD_SIZE, DynamoMemberships
from realtime.adapters.dynamodb.progress import DynamoFanoutProgress
from realtime.adapters.dynamodb.streams import DynamoLatestValues, DynamoStreams
from realtime.adapters.dynamodb.table import Table

__all__ = ["PK", "SK", "TTL_ATTRIBUTE", "ConnectionItem", "DynamoStores"]


@dataclass(frozen=True)
class DynamoStores:
    """Every port the table implements, over one client."""

    connections: DynamoConnections
    memberships: DynamoMemberships
    streams: DynamoStreams
    latest: DynamoLatestValues
    progress: DynamoFanoutProgress
    replay_budget: DynamoReplayBudget

    @classmethod
    def of(
        cls,
        client: Any,
        table_name: str,
        *,
        shard_size: int = DEFAULT_SHARD_SIZE,
        track_occupancy: bool = False,
        page_size: int | None = None,
    ) -> DynamoStores:
        table = Table(client, table_name, page_size=page_size)
        memberships = DynamoMemberships(table, shard_size=shard_size, track_occupancy=track_occupancy)
        return cls(
            connections=DynamoConnections(table, memberships),
            memberships=memberships,
            streams=DynamoStreams(table),
            latest=DynamoLatestValues(table),
            progress=DynamoFanoutProgress(table),
            replay_budget=DynamoReplayBudget(table),
        )
