"""DynamoDB adapter: connections, memberships, sequences and history in one table.

See docs/architecture.md for the key design and its access patterns."""

from typing import Any

from realtime.adapters.dynamodb.connections import ConnectionItem, ConnectionStore
from realtime.adapters.dynamodb.groups import DEFAULT_SHARD_SIZE
from realtime.adapters.dynamodb.messages import MessageStore
from realtime.adapters.dynamodb.progress import ProgressStore
from realtime.adapters.dynamodb.table import PK, SK, TTL_ATTRIBUTE

__all__ = ["PK", "SK", "TTL_ATTRIBUTE", "ConnectionItem", "DynamoRepository"]


class DynamoRepository(ConnectionStore, MessageStore, ProgressStore):
    """The ConnectionRepository port, backed by one DynamoDB table."""

    def __init__(
        self, client: Any, table_name: str, *, page_size: int | None = None, shard_size: int = DEFAULT_SHARD_SIZE
    ) -> None:
        super().__init__(client, table_name, page_size=page_size)
        self.shard_size = shard_size
