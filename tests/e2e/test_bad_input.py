"""Bad input over the socket is answered with an Error frame naming what is wrong, and
the connection stays open; only a message over API Gateway's 128 KB limit closes it (1009)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.tools.client import RealtimeClient
from realtime.config import MAX_MESSAGE_BYTES
from tests.e2e.support import Clients, connection_count, includes
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e


async def assert_still_open(client: RealtimeClient) -> None:
    reply = await client.request({"action": "ping", "requestId": "still-open"})
    assert includes(reply, {"type": "Pong", "requestId": "still-open"}), reply


def error_fields(reply: dict[str, Any]) -> list[str]:
    return [".".join(str(part) for part in error["loc"]) for error in reply.get("errors", [])]


BAD_FRAMES: dict[str, tuple[str | bytes, str, str | None]] = {
    # name: (frame, error code, a field the error must name)
    "invalid JSON": ("{not json", "InvalidMessage", None),
    "a JSON array": ("[1, 2, 3]", "InvalidMessage", None),
    "binary frame": (b"\x00\xff", "InvalidMessage", None),
    "no action": ('{"group": "analytics"}', "UnknownAction", None),
    "unknown action": ('{"action": "launchRockets"}', "UnknownAction", None),
    "subscribe without group": ('{"action": "subscribe"}', "ValidationError", "group"),
    "subscribe with a number": ('{"action": "subscribe", "group": 7}', "ValidationError", "group"),
    "unknown field": ('{"action": "ping", "extra": true}', "ValidationError", "extra"),
    "publish without data": (
        '{"action": "publish", "group": "alerts", "type": "Alert"}',
        "ValidationError",
        "data",
    ),
    "publish with invalid data": (
        '{"action": "publish", "group": "alerts", "type": "Alert", "data": {"title": "x"}}',
        "ValidationError",
        "data.message",
    ),
    "publish an unknown type": (
        '{"action": "publish", "group": "alerts", "type": "Nope", "data": {}}',
        "ValidationError",
        "type",
    ),
    "subscribe to an unknown group": ('{"action": "subscribe", "group": "nope"}', "UnknownGroup", None),
    "unsubscribe from an unknown group": ('{"action": "unsubscribe", "group": "nope"}', "UnknownGroup", None),
    "publish to an unknown group": (
        '{"action": "publish", "group": "nope", "type": "Alert", "data": {"title": "a", "message": "b"}}',
        "UnknownGroup",
        None,
    ),
}


@pytest.mark.parametrize("case", BAD_FRAMES)
async def test_bad_frames_get_an_error_and_the_connection_stays_open(stack: ObservedDeployment, case: str) -> None:
    frame, code, field = BAD_FRAMES[case]
    async with Clients(stack) as clients:
        client = await clients.open()
        await client.send(frame)
        reply = await client.receive()
        assert reply["type"] == "Error" and reply["code"] == code, reply
        assert reply["message"]
        if field is not None:
            assert any(loc == field or loc.endswith(f".{field}") for loc in error_fields(reply)), reply
        await assert_still_open(client)


async def test_validation_errors_locate_fields_as_documented(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        reply = await client.request({"action": "subscribe", "requestId": "r1"})
        assert includes(reply, {"type": "Error", "code": "ValidationError", "requestId": "r1"}), reply
        assert reply["errors"] == [{"loc": ["group"], "msg": "Field required", "type": "missing"}]


async def test_errors_echo_the_request_id(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        reply = await client.request({"action": "subscribe", "group": "nope", "requestId": "sub-9"})
        assert (reply["code"], reply["requestId"]) == ("UnknownGroup", "sub-9")
        reply = await client.request({"action": "fly", "requestId": "fly-1"})
        assert (reply["code"], reply["requestId"]) == ("UnknownAction", "fly-1")


def publish_frame(blob_bytes: int) -> str:
    data = {"userId": "u1", "action": "export", "details": {"blob": "x" * blob_bytes}}
    message = {"action": "publish", "group": "user-activity", "type": "UserAction", "data": data}
    return json.dumps(message, separators=(",", ":"))


async def test_a_publish_whose_envelope_exceeds_128_kb_is_refused(stack: ObservedDeployment) -> None:
    # The frame itself fits in 128 KB; the envelope (id, seq, ts…) around the same data does not.
    frame = publish_frame(MAX_MESSAGE_BYTES - len(publish_frame(0)) - 8)
    assert len(frame.encode()) <= MAX_MESSAGE_BYTES
    async with Clients(stack) as clients:
        publisher, subscriber = await clients.open_many(2)
        await subscriber.request({"action": "subscribe", "group": "user-activity"})
        await publisher.send(frame)
        reply = await publisher.receive()
        assert (reply["type"], reply["code"]) == ("Error", "PayloadTooLarge"), reply
        await subscriber.expect_silence()
        await assert_still_open(publisher)


async def test_a_frame_over_128_kb_closes_the_connection_with_1009(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        big, witness = await clients.open_many(2)
        connection_id = clients.connection_id(big)
        await big.send("x" * (MAX_MESSAGE_BYTES + 1))
        assert await big.wait_closed() == 1009
        stack.wait_gone(connection_id)  # $disconnect ran: the connection is no longer counted
        assert (await connection_count(witness))["connections"] == 1


async def test_a_frame_of_exactly_128_kb_is_accepted(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        await client.send(" " * (MAX_MESSAGE_BYTES - 2) + "[]")
        assert (await client.receive())["code"] == "InvalidMessage"
        await assert_still_open(client)
        assert (await connection_count(client))["connections"] == 1
