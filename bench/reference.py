"""The reference design of the public samples (aws-samples' simple WebSocket chat app and
the API Gateway WebSocket tutorials), as a baseline for `make bench`: one table of
connection ids; `$connect` puts the id, `$disconnect` deletes it, and a publish Scans the
table and calls `post_to_connection` (boto3) for each connection, one after another.

`python -m bench.reference` serves it with the very emulator the hub runs on (the same
API Gateway, `@connections` with SigV4, moto, the latency model from LOCAL_LATENCY_*),
with these handlers in place of the hub's connect, disconnect, message and rest_api; the
authorizers are the hub's own, so a handshake costs the same token check. There are no
groups (every connection gets every publish: a `subscribe` is only acknowledged) and no
history, so it cannot resume."""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import threading
from typing import Any

import boto3

from local.emulated.latency import LatencyModel
from local.runner.deployment import LocalDeployment

TABLE = "reference-connections"
KEY = "connectionId"


@functools.cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb")  # endpoint, region and credentials from the environment


@functools.cache
def _management_api() -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=os.environ["WEBSOCKET_CALLBACK_URL"])


def _connection_id(event: dict[str, Any]) -> str:
    connection_id: str = event["requestContext"]["connectionId"]
    return connection_id


def on_connect(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    _dynamodb().put_item(TableName=TABLE, Item={KEY: {"S": _connection_id(event)}})
    return {"statusCode": 200}


def on_disconnect(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    _dynamodb().delete_item(TableName=TABLE, Key={KEY: {"S": _connection_id(event)}})
    return {"statusCode": 200}


def on_message(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """`subscribe` is acknowledged (there are no groups); anything else is broadcast."""
    frame = json.loads(event.get("body") or "{}")
    if frame.get("action") == "subscribe":
        reply = {"type": "Subscribed", "group": frame.get("group"), "seq": 0, "epoch": ""}
        _management_api().post_to_connection(ConnectionId=_connection_id(event), Data=json.dumps(reply).encode())
    else:
        broadcast({"type": "Message", "data": frame.get("data")})
    return {"statusCode": 200}


def on_rest(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """GET /status (the connection count: a Scan) and POST /broadcast/<group>."""
    method, path = event["httpMethod"], event["path"]
    if method == "GET" and path.endswith("/status"):
        return _json(200, {"connections": _scan_count()})
    if method == "POST" and "/broadcast/" in path:
        group = path.rpartition("/")[2]
        delivered = broadcast({"type": "AnalyticsUpdate", "group": group, "data": json.loads(event["body"] or "{}")})
        return _json(200, {"delivered": delivered})
    return _json(404, {"message": "not found"})


def broadcast(envelope: dict[str, Any]) -> int:
    """The samples' publish: Scan every connection, post to each in turn, delete the gone."""
    data = json.dumps(envelope).encode()
    delivered = 0
    for page in _dynamodb().get_paginator("scan").paginate(TableName=TABLE, ProjectionExpression=KEY):
        for item in page["Items"]:
            connection_id = item[KEY]["S"]
            try:
                _management_api().post_to_connection(ConnectionId=connection_id, Data=data)
                delivered += 1
            except _management_api().exceptions.GoneException:
                _dynamodb().delete_item(TableName=TABLE, Key={KEY: {"S": connection_id}})
    return delivered


def _scan_count() -> int:
    pages = _dynamodb().get_paginator("scan").paginate(TableName=TABLE, Select="COUNT")
    return sum(int(page["Count"]) for page in pages)


def _json(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


REPLACEMENTS = {"connect": on_connect, "disconnect": on_disconnect, "message": on_message, "rest_api": on_rest}


def create_table(endpoint: str) -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any credentials
    )
    client.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def main() -> int:
    """Serve the reference design on a free port until SIGTERM; print its URLs."""
    stack = LocalDeployment(
        port=0,
        access_log=False,
        environment={"POWERTOOLS_LOG_LEVEL": "WARNING"},
        latency=LatencyModel.from_env(),
        replacements=REPLACEMENTS,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signal, _frame: stopping.set())
    stack.start()
    try:
        create_table(stack.dynamodb_endpoint)
        print(f"Reference design\n  WebSocket  {stack.ws_url}\n  REST       {stack.rest_url}", flush=True)
        while stack.running and not stopping.wait(0.5):
            pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
