"""What each function may do, traced to the code that does it: DynamoDB actions on the
table, @connections methods on the WebSocket stage, SQS actions on the queues its settings
name, EventBridge actions on the bus; plus the few grants Lambda itself needs to run a
function (its event source mapping, its on-failure destination), which no code calls.

DynamoDB authorizes a TransactWriteItems call item by item: a Put needs dynamodb:PutItem,
an Update dynamodb:UpdateItem, a Delete dynamodb:DeleteItem and a ConditionCheck
dynamodb:ConditionCheckItem. The calls are in realtime/adapters/dynamodb/ (table.py: the
helpers; connections.py, groups.py, messages.py, progress.py: the methods named below),
which use case calls them is in realtime/domain/hub.py, and the idempotency records are
written by Powertools' DynamoDBPersistenceLayer (realtime/idempotency.py) in the same table.
tests/infra/test_permissions_match_code.py follows every function's code paths from its
handler and fails when a grant here is missing or unused; tests/infra/test_template.py
checks that each role carries exactly these grants, on exactly these resources.

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
    # hub.connect → add_connection: the auto-join group's sizing (GetItem: which membership
    # shard), one transaction of Puts (connection, user index, sweep index, membership and
    # mirror) and counter Updates; then update_occupancy (a conditional UpdateItem).
    "connect": ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"),
    # hub.disconnect → remove_connection: Query the connection's items, one transaction of
    # Deletes and counter Updates, then DeleteItem of per-user counters back at zero.
    "disconnect": ("dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:UpdateItem"),
    # hub.deliver_slice: the slice's checkpoint (GetItem), one membership shard's page
    # (Query), the checkpoint and the message's counts (a transaction of Updates), the
    # slice's completion (UpdateItem); a connection found gone is removed as on disconnect.
    # Never writes a new item: no PutItem.
    "fanout_worker": (
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
    # realtime.entrypoints.ingest: publishes each event as REST `POST /publish` does
    # (idempotency records keyed by the event id, append, save_latest, members, gone
    # connections); never subscribes, never reads counts in batches.
    "ingest": (
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
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

# @connections methods each function calls (realtime/adapters/signed_sender.py): replies
# and fan-out POST; `close` (DELETE) by the hub's _close: `message` closes a connection whose
# token expired, `sweeper` the connections it removes, `rest_api` the ones an admin revokes.
MANAGEMENT_API_METHODS: dict[FunctionName, tuple[str, ...]] = {
    "authorizer": (),
    "connect": (),
    "disconnect": (),
    "fanout_worker": ("POST",),
    "ingest": ("POST",),
    "message": ("DELETE", "POST"),
    "rest_api": ("DELETE", "POST"),
    "rest_authorizer": (),
    "sweeper": ("DELETE",),
}

# SQS actions each function's code calls, granted on every queue whose URL its settings
# carry (FANOUT_QUEUE_URL, INGEST_DEAD_LETTER_QUEUE_URL: the code can address no other).
# A publish to a group above the threshold sends its slices to the fan-out queue
# (realtime/adapters/fanout_queue.py: SendMessageBatch, which IAM authorizes as
# sqs:SendMessage); the ingestion sends the events it refuses to its dead-letter queue
# (realtime/adapters/dead_letters.py: SendMessage). The workers never send: Lambda's event
# source mapping receives and deletes their messages (QUEUE_CONSUMER_ACTIONS).
QUEUE_ACTIONS: dict[FunctionName, tuple[str, ...]] = {
    "authorizer": (),
    "connect": (),
    "disconnect": (),
    "fanout_worker": (),
    "ingest": ("sqs:SendMessage",),
    "message": ("sqs:SendMessage",),
    "rest_api": ("sqs:SendMessage",),
    "rest_authorizer": (),
    "sweeper": (),
}

# EventBridge actions each function's code calls (realtime/adapters/event_bus.py: the
# lifecycle events, PutEvents), on the bus only, and only for events whose source is the
# configured `lifecycleSource` (condition events:source): no function can put an event
# the ingestion rule would take for a publish request.
BUS_ACTIONS: dict[FunctionName, tuple[str, ...]] = {
    "authorizer": (),
    "connect": ("events:PutEvents",),  # Connection Opened, Group Occupied
    "disconnect": ("events:PutEvents",),  # Connection Closed, Group Vacated
    "fanout_worker": ("events:PutEvents",),  # a gone connection removed: Connection Closed…
    "ingest": ("events:PutEvents",),  # the same, from its inline fan-out
    "message": ("events:PutEvents",),  # subscribe/unsubscribe flips, gone connections
    "rest_api": ("events:PutEvents",),  # gone connections found by a publish
    "rest_authorizer": (),
    "sweeper": ("events:PutEvents",),  # Connection Closed (expired)
}

# -- what Lambda itself needs (no code calls these) ----------------------------------------

# The fan-out workers' event source mapping polls the fan-out queue with the worker's role:
# the SQS actions of AWS's AWSLambdaSQSQueueExecutionRole, on that queue only.
QUEUE_CONSUMER_ACTIONS: tuple[str, ...] = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
# The ingestion's on-failure destination (its dead-letter queue): Lambda sends the failed
# event there with the function's role.
DESTINATION_ACTIONS: tuple[str, ...] = ("sqs:SendMessage",)
