"""What each function may do: one short table, one row per function.

Each row lists the IAM actions the function's code calls: DynamoDB on the table,
@connections methods on the WebSocket stage (execute-api:ManageConnections, one ARN per
method), SQS on the queues its settings name, EventBridge on the bus (lifecycle events
only: condition events:source). Below the table, the few grants Lambda itself needs to run
a function (an event source mapping, an on-failure destination), which no code calls.

The rows are not derived by reading the code: tests/test_permissions_match_calls.py
records every AWS call each function makes while the integration and end-to-end tests run
it, and fails when a function calls something its row does not grant, or when its row
grants something no test makes it call. tests/infra/test_template.py checks that each role
carries exactly its row, on exactly these resources.

DynamoDB authorizes TransactWriteItems item by item (Put: PutItem, Update: UpdateItem,
Delete: DeleteItem, ConditionCheck: ConditionCheckItem) and SQS SendMessageBatch as
SendMessage. Idempotency records (Powertools' persistence layer) live in the same table.

Not scoped with `dynamodb:LeadingKeys` (partition key prefixes): `message` and `rest_api`,
the two functions that act on client input, reach every partition but the sweep cursor
(connections, groups, users, expiry minutes, history, latest, idempotency), so conditions
would narrow almost nothing where it matters; and a prefix missed on a rare path (a replay
abandoned, a 410 clean-up) would be an AccessDenied in production that no local test can
show (moto's IAM emulation evaluates no DynamoDB condition keys).
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.config import FunctionName


@dataclass(frozen=True)
class Grants:
    """One function's row: full IAM action names, except `connections` (HTTP methods)."""

    table: tuple[str, ...] = ()
    connections: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    bus: tuple[str, ...] = ()

    def actions(self) -> set[str]:
        """Every grant as the recorded calls name it (`execute-api:ManageConnections POST`)."""
        methods = {f"execute-api:ManageConnections {method}" for method in self.connections}
        return {*self.table, *self.queues, *self.bus, *methods}


def dynamodb(*actions: str) -> tuple[str, ...]:
    return tuple(f"dynamodb:{action}" for action in sorted(actions))


# What removing a connection takes (disconnect, the sweeper, and whoever finds one gone on
# a send): Query its items, Delete them and Update the counters in one transaction, then
# DeleteItem the per-user counters back at zero. It announces Connection Closed.
_REMOVE = ("DeleteItem", "Query", "UpdateItem")
# What publishing takes (REST, WebSocket, EventBridge alike): the group's state (GetItem),
# the append (a transaction of Update + Put + Delete), the latest value (PutItem), the
# members (Query), the idempotency record of a keyed publish (Put/Get/Update/DeleteItem),
# a group above the threshold queued in slices (SendMessage); connections found gone removed.
_PUBLISH = ("GetItem", "PutItem", *_REMOVE)
LIFECYCLE_EVENTS = ("events:PutEvents",)

GRANTS: dict[FunctionName, Grants] = {
    # Verify tokens only.
    "authorizer": Grants(),
    "rest_authorizer": Grants(),
    # The auto-join group's sizing (GetItem), one transaction of Puts and counter Updates.
    "connect": Grants(table=dynamodb("GetItem", "PutItem", "UpdateItem"), bus=LIFECYCLE_EVENTS),
    "disconnect": Grants(table=dynamodb(*_REMOVE), bus=LIFECYCLE_EVENTS),
    # Every action reads its connection. subscribe: the group's state, history (Query), the
    # join (ConditionCheck + Puts + Updates); stats and presence: counts (BatchGetItem);
    # publish as below; an expired token's connection closed (DELETE).
    "message": Grants(
        table=dynamodb("BatchGetItem", "ConditionCheckItem", *_PUBLISH),
        connections=("DELETE", "POST"),
        queues=("sqs:SendMessage",),
        bus=LIFECYCLE_EVENTS,
    ),
    # Reads (status, snapshot, groups, presence, history, message progress), publishing,
    # single or batch, and revoking connections (DELETE). Never subscribes.
    "rest_api": Grants(
        table=dynamodb("BatchGetItem", *_PUBLISH),
        connections=("DELETE", "POST"),
        queues=("sqs:SendMessage",),
        bus=LIFECYCLE_EVENTS,
    ),
    # Publishes each event as POST /publish does; refused events go to its dead-letter queue.
    "ingest": Grants(
        table=dynamodb(*_PUBLISH), connections=("POST",), queues=("sqs:SendMessage",), bus=LIFECYCLE_EVENTS
    ),
    # One slice: its checkpoint (GetItem), a membership shard's page (Query), the checkpoint
    # and the message's counts (Updates). Never writes a new item: no PutItem.
    "fanout_worker": Grants(table=dynamodb("GetItem", *_REMOVE), connections=("POST",), bus=LIFECYCLE_EVENTS),
    # The cursor (GetItem, then PutItem per minute), one Query per minute since it; each
    # connection found is removed and closed (DELETE), never sent to.
    "sweeper": Grants(table=dynamodb("GetItem", "PutItem", *_REMOVE), connections=("DELETE",), bus=LIFECYCLE_EVENTS),
}

# -- what Lambda itself needs (no code calls these) ----------------------------------------

# The fan-out workers' event source mapping polls the fan-out queue with the worker's role:
# the SQS actions of AWS's AWSLambdaSQSQueueExecutionRole, on that queue only.
QUEUE_CONSUMER_ACTIONS: tuple[str, ...] = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
# The ingestion's on-failure destination (its dead-letter queue): Lambda sends the failed
# event there with the function's role.
DESTINATION_ACTIONS: tuple[str, ...] = ("sqs:SendMessage",)
