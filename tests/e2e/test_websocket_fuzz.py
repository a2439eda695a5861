"""A WebSocket fuzzer: hypothesis writes frames — every action with right and wrong field
values, random JSON, deep nesting, binary and invalid UTF-8 frames, sizes around 128 KB —
and after each one the socket must have answered only documented frames (replies and
envelopes that validate against the protocol's models; Error frames with a documented
code) or closed as documented (1009 for a message over 128 KB), and still answer `ping`.
At the end the stack is healthy and every stored message reads back.

Bounded and seeded (`FUZZ_EXAMPLES`, default 150) for `make test`; `make fuzz` runs more.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any, get_args

import boto3
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from local.tools.client import socket_url
from realtime import payload
from realtime.config import DEFAULT_GROUP_ROLES, MAX_MESSAGE_BYTES
from realtime.domain.event_types import EVENT_TYPES
from realtime.domain.models import Envelope
from realtime.protocol import ACTIONS, ErrorCode, ServerReply
from tests.e2e.support import bearer, deployed_with, token
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
REPLIES: TypeAdapter[Any] = TypeAdapter(ServerReply)
CODES = set(get_args(ErrorCode))
GROUPS = [*DEFAULT_GROUP_ROLES, "nope", "", "x" * 70]

# -- frames -----------------------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)
fields = {
    "group": st.sampled_from(GROUPS) | json_values,
    "userId": st.sampled_from(["alice", "", "u" * 300]) | json_values,
    "type": st.sampled_from([*EVENT_TYPES, "Nope", ""]) | json_values,
    "data": st.builds(dict) | st.dictionaries(st.text(max_size=12), json_values, max_size=6) | json_values,
    "since": st.integers(min_value=-5, max_value=2**60) | json_values,
    "epoch": st.text(max_size=70) | json_values,
    "requestId": st.text(max_size=140) | json_values,
    "idempotencyKey": st.text(max_size=300) | json_values,
    "token": st.sampled_from(["garbage", token("alice", ttl_seconds=600), token("mallory")]) | json_values,
}


@st.composite
def action_frames(draw: st.DrawFn) -> str:
    frame: dict[str, Any] = {"action": draw(st.sampled_from([*ACTIONS, "dance", ""]) | json_values)}
    for name in draw(st.sets(st.sampled_from(sorted(fields)), max_size=5)):
        frame[name] = draw(fields[name])
    if draw(st.booleans()):
        frame[draw(st.text(min_size=1, max_size=10))] = draw(json_values)  # unknown field
    return json.dumps(frame, allow_nan=True)  # NaN/Infinity literals are fair game


def nested(depth: int) -> str:
    return (
        '{"action":"publish","group":"alerts","type":"UserAction","data":' + '{"a":' * depth + "1" + "}" * depth + "}"
    )


frames = st.one_of(
    action_frames(),
    json_values.map(lambda value: json.dumps(value, allow_nan=True)),
    st.integers(min_value=1, max_value=400).map(nested),
    st.binary(max_size=64),  # binary frames: random bytes, invalid UTF-8 among them
    st.text(max_size=64),  # not JSON
    st.integers(min_value=-64, max_value=64).map(lambda delta: "[" + " " * (MAX_MESSAGE_BYTES - 2 + delta) + "]"),
)


# -- the socket -------------------------------------------------------------------------------


class Dashboard:
    """One socket, reopened after a documented close."""

    def __init__(self, stack: ObservedDeployment) -> None:
        self.stack = stack
        self._sockets = contextlib.ExitStack()  # every socket opened, closed at the end
        self.socket: ClientConnection = self._open()
        self.closes: list[int] = []

    def _open(self) -> ClientConnection:
        url = socket_url(self.stack.ws_url, token("fuzzer"))
        return self._sockets.enter_context(connect(url, open_timeout=10, max_size=None))

    def exchange(self, frame: str | bytes) -> None:
        """Send the frame, then a ping; everything that comes back before the Pong must be documented."""
        with contextlib.suppress(ConnectionClosed):
            self.socket.send(frame)
        marker = f"ping-{uuid.uuid4().hex}"
        try:
            self.socket.send(json.dumps({"action": "ping", "requestId": marker}))
            while True:
                if check(json.loads(self.socket.recv(timeout=15))) == marker:
                    return
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            assert code == 1009 and len(frame) > MAX_MESSAGE_BYTES, f"closed with {code} after {frame[:200]!r}"
            self.closes.append(code)
            self.socket = self._open()

    def close(self) -> None:
        self._sockets.close()


def check(frame: dict[str, Any]) -> str | None:
    """Validate one frame against the protocol; return a Pong's requestId."""
    if frame.get("type") in EVENT_TYPES:
        Envelope.model_validate(frame)
        return None
    reply = REPLIES.validate_python(frame)
    if frame["type"] == "Error":
        assert frame["code"] in CODES, frame
        assert len(json.dumps(frame)) < 20_000, "an error answer must stay small"
    return frame.get("requestId") if frame["type"] == "Pong" else (reply and None)


@pytest.fixture
def dashboard(stack: ObservedDeployment) -> Iterator[Dashboard]:
    with deployed_with(stack, ACTION_RATE_PER_SECOND="10000", ACTION_BURST="10000"):  # fuzz, don't throttle
        opened = Dashboard(stack)
        try:
            yield opened
        finally:
            opened.close()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    database=None,
)
@given(frame=frames)
def _fuzz(dashboard: Dashboard, frame: str | bytes) -> None:
    dashboard.exchange(frame)


def test_every_frame_gets_a_documented_answer_and_the_socket_survives(
    dashboard: Dashboard, stack: ObservedDeployment
) -> None:
    _fuzz(dashboard)  # hypothesis fills `frame`
    admin = bearer(token("checker"))
    assert httpx.get(f"{stack.rest_url}/health", timeout=5).status_code == 200
    assert httpx.get(f"{stack.rest_url}/platform-snapshot", headers=admin, timeout=5).status_code == 200
    for group in DEFAULT_GROUP_ROLES:
        assert every_stored_message_reads_back(stack, group, admin)


def every_stored_message_reads_back(stack: ObservedDeployment, group: str, headers: dict[str, str]) -> bool:
    """The REST history returns as many messages as the table stores for the group: none skipped."""
    table = boto3.client(
        "dynamodb",
        endpoint_url=stack.dynamodb_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    # A Query counts at most 1 MB of items per page: page through them all.
    pages = table.get_paginator("query").paginate(
        TableName=stack.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"HIST#{group}"}},
        Select="COUNT",
    )
    stored = sum(page["Count"] for page in pages)
    read, after = 0, 0
    while True:
        page = httpx.get(
            f"{stack.rest_url}/groups/{group}/history",
            params={"after": after, "limit": 1000},
            headers=headers,
            timeout=10,
        ).json()
        read += len(page["items"])
        for item in page["items"]:
            payload.check(item["data"])
        if page["next"] is None:
            return read == stored
        after = page["next"]
