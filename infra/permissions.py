"""What each function may do, traced to the code that does it.

DynamoDB checks a TransactWriteItems call per item: a Put needs dynamodb:PutItem, an
Update dynamodb:UpdateItem, a Delete dynamodb:DeleteItem and a ConditionCheck
dynamodb:ConditionCheckItem. Call sites are in realtime/adapters/dynamodb.py (methods
named below) and realtime/domain/hub.py (which use case calls them).
"""

from __future__ import annotations

from infra.config import FunctionName

TABLE_ACTIONS: dict[FunctionName, tuple[str, ...]] = {
    # Verifies tokens only; never touches the table.
    "authorizer": (),
    # hub.connect → add_connection: a transaction of conditional Puts and counter Updates.
    "connect": ("dynamodb:PutItem", "dynamodb:UpdateItem"),
    # hub.disconnect → remove_connection: Query the connection's items, then a transaction
    # of Deletes and counter Updates.
    "disconnect": ("dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:UpdateItem"),
    # Every client action: get_connection (GetItem); subscribe (ConditionCheck + Puts +
    # Update, then last_seq: GetItem); unsubscribe (Deletes + Update); stats (counts:
    # BatchGetItem; latest: Query); publish (next_seq: UpdateItem, save_latest: PutItem,
    # member_pages: Query); a gone connection is removed (Query, Delete, Update).
    "message": (
        "dynamodb:BatchGetItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
    # status (connection_count: GetItem), platform-snapshot (BatchGetItem, Query) and
    # publishing (UpdateItem, PutItem, Query; gone connections: Query, Delete, Update).
    "rest_api": (
        "dynamodb:BatchGetItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
    # Verifies tokens only, like the WebSocket authorizer.
    "rest_authorizer": (),
}

# @connections methods each function calls (realtime/adapters/management_api.py). Only
# post_to_connection is used: ManagementApiSender.close (DELETE) has no caller yet, so it
# is not granted; add "DELETE" here when something starts closing connections.
MANAGEMENT_API_METHODS: dict[FunctionName, tuple[str, ...]] = {
    "authorizer": (),
    "connect": (),
    "disconnect": (),
    "message": ("POST",),
    "rest_api": ("POST",),
    "rest_authorizer": (),
}
