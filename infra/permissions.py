"""What each function may do, traced to the code that does it.

DynamoDB authorizes a TransactWriteItems call item by item: a Put needs dynamodb:PutItem,
an Update dynamodb:UpdateItem, a Delete dynamodb:DeleteItem and a ConditionCheck
dynamodb:ConditionCheckItem. The calls are in realtime/adapters/dynamodb/ (table.py: the
helpers; connections.py, groups.py, messages.py: the methods named below), which use case
calls them is in realtime/domain/hub.py, and the idempotency records are written by
Powertools' DynamoDBPersistenceLayer (realtime/idempotency.py) in the same table.
tests/infra/test_permissions_match_code.py follows every function's code paths from its
handler and fails when a grant here is missing or unused.

Not scoped with `dynamodb:LeadingKeys` (partition key prefixes): `message` and `rest_api`,
the two functions that act on client input, reach every partition but the sweep cursor
(connections, groups, users, expiry minutes, history, latest, idempotency), so conditions
would narrow almost nothing where it matters; and a prefix missed on a rare path (a replay
abandoned, a 410 clean-up) would be an AccessDenied in production that no local test can
show (moto's IAM emulation evaluates no DynamoDB condition keys).
"""

from __future__ import annotations

from infra.config import FunctionName

TABLE_ACTIONS: dict[FunctionName, tuple[str, ...]] = {
    # Verifies tokens only; never touches the table.
    "authorizer": (),
    # hub.connect → add_connection: one transaction of Puts (connection, user index, sweep
    # index, auto-join membership and mirror) and counter Updates.
    "connect": ("dynamodb:PutItem", "dynamodb:UpdateItem"),
    # hub.disconnect → remove_connection: Query the connection's items, one transaction of
    # Deletes and counter Updates, then DeleteItem of per-user counters back at zero.
    "disconnect": ("dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:UpdateItem"),
    # Every action: get_connection (GetItem). subscribe: group_state (GetItem; UpdateItem
    # on a group's first use), history (Query), join (ConditionCheck + Puts + Updates);
    # a resume's replay: history (Query), go_live (ConditionCheck + Update), or unsubscribe
    # when abandoned. unsubscribe: GetItem, then Deletes + Updates, DeleteItem. stats and
    # presence: counts (BatchGetItem), latest and group_user_ids (Query), group_state.
    # publish: idempotency (PutItem, GetItem, UpdateItem, DeleteItem), append (GetItem,
    # then Update + Put + Delete), save_latest (PutItem), member_pages or
    # user_connection_pages (Query). A connection found gone is removed as on disconnect.
    "message": (
        "dynamodb:BatchGetItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
    # status (GetItem), platform-snapshot (BatchGetItem, Query), groups and presence
    # (Query, GetItem, UpdateItem, BatchGetItem), history (Query), and publishing, single or
    # batch, as `message` does (idempotency, append, save_latest, members, gone connections).
    # Never subscribes: no ConditionCheckItem.
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
    # hub.sweep_expired → expired_connections: the cursor (GetItem, then PutItem after each
    # minute), one Query per minute since it; each connection found → remove_connection
    # (Query, Deletes + Updates, DeleteItem), as on disconnect.
    "sweeper": (
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
}

# @connections methods each function calls (realtime/adapters/management_api.py): replies
# and fan-out POST. ManagementApiSender.close (DELETE) has no caller, so nobody is granted it.
MANAGEMENT_API_METHODS: dict[FunctionName, tuple[str, ...]] = {
    "authorizer": (),
    "connect": (),
    "disconnect": (),
    "message": ("POST",),
    "rest_api": ("POST",),
    "rest_authorizer": (),
    "sweeper": (),
}
