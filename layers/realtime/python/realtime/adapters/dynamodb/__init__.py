"""DynamoDB adapter: connections, memberships, sequences and history in one table.

See docs/architecture.md for the key design and its access patterns."""

from realtime.adapters.dynamodb.connections import ConnectionItem, ConnectionStore
from realtime.adapters.dynamodb.messages import MessageStore
from realtime.adapters.dynamodb.table import PK, SK, TTL_ATTRIBUTE

__all__ = ["PK", "SK", "TTL_ATTRIBUTE", "ConnectionItem", "DynamoRepository"]


class DynamoRepository(ConnectionStore, MessageStore):
    """The ConnectionRepository port, backed by one DynamoDB table."""
