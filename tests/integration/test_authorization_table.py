"""The authorization table of docs/protocol.md, row by row, on every face, for every
combination of the roles of a custom-roles configuration — through the real handlers.

The expected answers come from the table below (written from the docs), not from the
code under test, so a rule that drifts on one face fails here."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.tools.tokens import mint_token
from tests.fakes import FakeSender
from tests.integration.conftest import Invoke
from tests.integration.events import action_event, authorizer_event, connect_event, iam_event, rest_event

BASE = "/api/admin/realtime"
Call = Callable[..., tuple[int, dict[str, Any]]]
GROUP_ROLES = {"admins": "admin", "user-activity": "support", "analytics": "viewer", "alerts": "ops"}
CONNECT_ROLE, PUBLISH_ROLE, ADMIN_ROLE = "viewer", "publisher", "admin"
# The least-privilege roles (what services' scopes grant): read everything, or publish.
READER_ROLE, PUBLISHER_ROLE = "auditor", "feeder"
IAM_CALLER_ROLES = "feeder"
ROLES = ("viewer", "publisher", "ops", "support", "admin")
COMBINATIONS = [frozenset(c) for n in range(len(ROLES) + 1) for c in itertools.combinations(ROLES, n)] + [
    frozenset(c) for c in ({"auditor"}, {"feeder"}, {"auditor", "feeder"}, {"feeder", "ops"}, {"auditor", "admin"})
]


@pytest.fixture
def custom_roles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GROUP_ROLES", json.dumps(GROUP_ROLES))
    monkeypatch.setenv("CONNECT_ROLE", CONNECT_ROLE)
    monkeypatch.setenv("PUBLISH_ROLE", PUBLISH_ROLE)
    monkeypatch.setenv("ADMIN_ROLE", ADMIN_ROLE)
    monkeypatch.setenv("READER_ROLE", READER_ROLE)
    monkeypatch.setenv("PUBLISHER_ROLE", PUBLISHER_ROLE)
    monkeypatch.setenv("IAM_CALLER_ROLES", IAM_CALLER_ROLES)
    yield


def label(roles: frozenset[str]) -> str:
    return "+".join(sorted(roles)) or "none"


def can_read(roles: frozenset[str], group: str) -> bool:
    return GROUP_ROLES[group] in roles or READER_ROLE in roles


def can_connect(roles: frozenset[str]) -> bool:
    return CONNECT_ROLE in roles or READER_ROLE in roles


def can_publish(roles: frozenset[str]) -> bool:
    return PUBLISH_ROLE in roles or PUBLISHER_ROLE in roles


def open_socket(invoke: Invoke, connection_id: str, token: str) -> str:
    """The handshake: 'allowed', 'denied' (403) or 'unauthorized' (401)."""
    try:
        policy = invoke("authorizer", authorizer_event(connection_id, token))
    except Exception as exc:
        assert str(exc) == "Unauthorized"
        return "unauthorized"
    if policy["policyDocument"]["Statement"][0]["Effect"] != "Allow":
        return "denied"
    assert (
        invoke("connect", connect_event(connection_id, policy["context"], policy["principalId"]))["statusCode"] == 200
    )
    return "allowed"


def ask(invoke: Invoke, replies: FakeSender, connection_id: str, frame: dict[str, Any]) -> dict[str, Any]:
    invoke("message", action_event(connection_id, frame))
    reply: dict[str, Any] = json.loads(replies.sent[connection_id][-1])
    return reply


def call(invoke: Invoke, method: str, path: str, token: str, body: object = None) -> tuple[int, dict[str, Any]]:
    response = invoke("rest_api", rest_event(method, BASE + path, body, token))
    return response["statusCode"], json.loads(response["body"])


@pytest.mark.parametrize("roles", COMBINATIONS, ids=label)
def test_every_action_and_route_follows_the_table(
    custom_roles: None, invoke: Invoke, replies: FakeSender, roles: frozenset[str]
) -> None:
    token = mint_token(f"user-{label(roles)}", sorted(roles))
    readable = {group for group in GROUP_ROLES if can_read(roles, group)}

    # -- the WebSocket face
    handshake = open_socket(invoke, "c1", token)
    assert handshake == ("allowed" if can_connect(roles) else "denied")
    if handshake == "allowed":
        for group in GROUP_ROLES:
            reply = ask(invoke, replies, "c1", {"action": "subscribe", "group": group})
            assert reply["type"] == ("Subscribed" if group in readable else "Error"), (group, reply)
            reply = ask(invoke, replies, "c1", {"action": "getPresence", "group": group})
            assert reply["type"] == ("Presence" if group in readable else "Error"), (group, reply)
            if reply["type"] == "Error":
                assert reply["code"] == "Forbidden"
        stats = ask(invoke, replies, "c1", {"action": "getPlatformStats"})
        assert set(stats["data"]["groups"]) == readable
        assert {e["group"] for e in stats["data"]["latest"].values()} <= readable
        counts = ask(invoke, replies, "c1", {"action": "getConnectionCount"})
        assert set(counts["data"]["groups"]) == readable
        published = ask(
            invoke,
            replies,
            "c1",
            {"action": "publish", "group": "alerts", "type": "TestMessage", "data": {"message": "m"}},
        )
        assert published["type"] == ("Published" if can_publish(roles) else "Error"), published
        assert ask(invoke, replies, "c1", {"action": "ping"})["type"] == "Pong"

    # -- the REST face
    rest_face(invoke, replies, roles, lambda method, path, body=None: call(invoke, method, path, token, body))


def rest_face(invoke: Invoke, replies: FakeSender, roles: frozenset[str], call: Call) -> None:
    readable = {group for group in GROUP_ROLES if can_read(roles, group)}
    status, me = call("GET", "/me")
    assert status == 200 and set(me["groups"]) == readable
    assert (me["canConnect"], me["canPublish"]) == (can_connect(roles), can_publish(roles))
    status, snapshot = call("GET", "/platform-snapshot")
    assert status == 200 and set(snapshot["groups"]) == readable
    status, listed = call("GET", "/groups")
    assert status == 200 and {g["group"] for g in listed["groups"]} == readable
    for group in GROUP_ROLES:
        for path in (f"/groups/{group}", f"/groups/{group}/history"):
            status, body = call("GET", path)
            assert (status, body.get("code")) == ((200, None) if group in readable else (403, "Forbidden")), path
    status, body = call("POST", "/alert", {"title": "t", "message": "m"})
    assert status == (200 if can_publish(roles) else 403), body
    status, body = call("POST", "/publish", {"group": "analytics", "type": "TestMessage", "data": {}})
    assert status == (422 if can_publish(roles) else 403), body  # forbidden before the body is read
    replies.gone.add("nope")  # API Gateway has no such connection either
    status, body = call("DELETE", "/connections/nope")
    assert status == (404 if ADMIN_ROLE in roles else 403), body
    status, body = call("DELETE", "/users/nobody/connections")
    assert status == (200 if ADMIN_ROLE in roles else 403), body


def test_the_iam_face_follows_the_table_with_the_iam_callers_roles(
    custom_roles: None, invoke: Invoke, replies: FakeSender
) -> None:
    principal = "arn:aws:sts::123456789012:assumed-role/billing-service/i-0abc"

    def signed(method: str, path: str, body: object = None) -> tuple[int, dict[str, Any]]:
        event = iam_event(method, BASE + path, body, principal)
        response = invoke("rest_api", event)
        return response["statusCode"], json.loads(response["body"])

    rest_face(invoke, replies, frozenset(IAM_CALLER_ROLES.split()), signed)
    assert signed("GET", "/me")[1]["userId"] == principal


def test_a_role_with_a_separator_never_becomes_two(custom_roles: None, invoke: Invoke, replies: FakeSender) -> None:
    """The escalation the review found: ["viewer", "x,admin,publisher"] became admin and publisher."""
    token = mint_token("mallory", ["viewer", "x,admin,publisher"])
    assert open_socket(invoke, "c1", token) == "allowed"
    reply = ask(invoke, replies, "c1", {"action": "subscribe", "group": "admins"})
    assert (reply["type"], reply["code"]) == ("Error", "Forbidden")
    reply = ask(
        invoke, replies, "c1", {"action": "publish", "group": "alerts", "type": "TestMessage", "data": {"message": "m"}}
    )
    assert (reply["type"], reply["code"]) == ("Error", "Forbidden")
    _status, me = call(invoke, "GET", "/me", token)
    assert me["roles"] == ["viewer"]  # the malformed name is ignored, never split
    assert call(invoke, "DELETE", "/users/alice/connections", token)[0] == 403
