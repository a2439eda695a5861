"""The authorization table of docs/protocol.md, row by row, on every face, for every
combination of the roles of a custom-roles configuration — through the real handlers.

The expected answers come from the table below (written from the docs), not from the
code under test, so a rule that drifts on one face fails here."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from local.tools.tokens import mint_token
from tests.fakes import FakeSender
from tests.integration.conftest import Invoke
from tests.integration.events import action_event, authorizer_event, connect_event, rest_event

BASE = "/api/admin/realtime"
GROUP_ROLES = {"admins": "admin", "user-activity": "support", "analytics": "viewer", "alerts": "ops"}
CONNECT_ROLE, PUBLISH_ROLE, ADMIN_ROLE = "viewer", "publisher", "admin"
ROLES = ("viewer", "publisher", "ops", "support", "admin")
COMBINATIONS = [frozenset(c) for n in range(len(ROLES) + 1) for c in itertools.combinations(ROLES, n)]


@pytest.fixture
def custom_roles(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GROUP_ROLES", json.dumps(GROUP_ROLES))
    monkeypatch.setenv("CONNECT_ROLE", CONNECT_ROLE)
    monkeypatch.setenv("PUBLISH_ROLE", PUBLISH_ROLE)
    monkeypatch.setenv("ADMIN_ROLE", ADMIN_ROLE)
    yield


def label(roles: frozenset[str]) -> str:
    return "+".join(sorted(roles)) or "none"


def can_read(roles: frozenset[str], group: str) -> bool:
    return GROUP_ROLES[group] in roles


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
    assert handshake == ("allowed" if CONNECT_ROLE in roles else "denied")
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
        assert published["type"] == ("Published" if PUBLISH_ROLE in roles else "Error"), published
        assert ask(invoke, replies, "c1", {"action": "ping"})["type"] == "Pong"

    # -- the REST face
    status, me = call(invoke, "GET", "/me", token)
    assert status == 200 and set(me["groups"]) == readable
    assert (me["canConnect"], me["canPublish"]) == (CONNECT_ROLE in roles, PUBLISH_ROLE in roles)
    status, snapshot = call(invoke, "GET", "/platform-snapshot", token)
    assert status == 200 and set(snapshot["groups"]) == readable
    status, listed = call(invoke, "GET", "/groups", token)
    assert status == 200 and {g["group"] for g in listed["groups"]} == readable
    for group in GROUP_ROLES:
        for path in (f"/groups/{group}", f"/groups/{group}/history"):
            status, body = call(invoke, "GET", path, token)
            assert (status, body.get("code")) == ((200, None) if group in readable else (403, "Forbidden")), path
    status, body = call(invoke, "POST", "/alert", token, {"title": "t", "message": "m"})
    assert status == (200 if PUBLISH_ROLE in roles else 403), body
    status, body = call(invoke, "POST", "/publish", token, {"group": "analytics", "type": "TestMessage", "data": {}})
    assert status == (422 if PUBLISH_ROLE in roles else 403), body  # forbidden before the body is read
    replies.gone.add("nope")  # API Gateway has no such connection either
    status, body = call(invoke, "DELETE", "/connections/nope", token)
    assert status == (404 if ADMIN_ROLE in roles else 403), body
    status, body = call(invoke, "DELETE", "/users/nobody/connections", token)
    assert status == (200 if ADMIN_ROLE in roles else 403), body


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
