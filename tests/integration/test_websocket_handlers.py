"""The WebSocket handlers, invoked with API Gateway's events, over moto's DynamoDB."""

import json
import time

import pytest

from local.tools.tokens import mint_token
from tests.fakes import FakeSender
from tests.integration.conftest import Invoke
from tests.integration.events import (
    action_event,
    authorizer_event,
    connect_event,
    disconnect_event,
    message_event,
)


def connect(invoke: Invoke, connection_id: str, roles: tuple[str, ...] = ("admin",), user: str = "alice") -> None:
    policy = invoke("authorizer", authorizer_event(connection_id, mint_token(user, roles)))
    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert invoke("connect", connect_event(connection_id, policy["context"], policy["principalId"])) == {
        "statusCode": 200
    }


def last_reply(replies: FakeSender, connection_id: str) -> dict:
    return json.loads(replies.sent[connection_id][-1])


def send(invoke: Invoke, replies: FakeSender, connection_id: str, frame: dict | str) -> dict:
    event = action_event(connection_id, frame) if isinstance(frame, dict) else message_event(connection_id, frame)
    assert invoke("message", event) == {"statusCode": 200}
    return last_reply(replies, connection_id)


class TestAuthorizer:
    def test_allows_an_admin_and_passes_the_identity(self, invoke: Invoke) -> None:
        policy = invoke("authorizer", authorizer_event("c1", mint_token("alice", ["admin", "ops"])))
        assert policy["principalId"] == "alice"
        assert policy["context"]["userId"] == "alice"
        assert json.loads(policy["context"]["roles"]) == ["admin", "ops"]  # JSON: a role can never split
        assert int(policy["context"]["expiresAt"]) > time.time()
        [statement] = policy["policyDocument"]["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Resource"][0].endswith("/prod/$connect")

    def test_denies_a_valid_token_without_the_connect_role(self, invoke: Invoke) -> None:
        policy = invoke("authorizer", authorizer_event("c1", mint_token("bob", [])))
        assert policy["policyDocument"]["Statement"][0]["Effect"] == "Deny"

    @pytest.mark.parametrize("token", [None, "garbage", mint_token("x", ttl_seconds=-60)])
    def test_raises_unauthorized_for_a_missing_or_bad_token(self, invoke: Invoke, token: str | None) -> None:
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            invoke("authorizer", authorizer_event("c1", token))


def test_connect_subscribe_publish_disconnect(invoke: Invoke, replies: FakeSender) -> None:
    connect(invoke, "c1")
    connect(invoke, "c2", user="bob")
    subscribed = send(invoke, replies, "c1", {"action": "subscribe", "group": "alerts", "requestId": "r1"})
    assert subscribed == {
        "type": "Subscribed",
        "group": "alerts",
        "seq": 0,
        "epoch": subscribed["epoch"],
        "requestId": "r1",
    }
    assert subscribed["epoch"]
    published = send(
        invoke,
        replies,
        "c2",
        {"action": "publish", "group": "alerts", "type": "Alert", "data": {"title": "t", "message": "m"}},
    )
    assert published["type"] == "Published"
    assert published["eventType"] == "Alert"
    assert (published["recipients"], published["delivered"], published["gone"], published["seq"]) == (
        1,
        1,
        0,
        1,
    )
    envelope = last_reply(replies, "c1")
    assert envelope["type"] == "Alert"
    assert envelope["seq"] == 1
    assert envelope["data"] == {"title": "t", "message": "m", "severity": "info"}

    counts = send(invoke, replies, "c1", {"action": "getConnectionCount", "requestId": "r2"})
    assert counts == {
        "type": "ConnectionCount",
        "requestId": "r2",
        "data": {"connections": 2, "groups": {"admins": 2, "user-activity": 0, "analytics": 0, "alerts": 1}},
    }
    assert invoke("disconnect", disconnect_event("c1")) == {"statusCode": 200}
    assert send(invoke, replies, "c2", {"action": "getConnectionCount"})["data"]["groups"] == {
        "admins": 1,
        "user-activity": 0,
        "analytics": 0,
        "alerts": 0,
    }


def test_platform_stats_and_ping(invoke: Invoke, replies: FakeSender) -> None:
    connect(invoke, "c1")
    stats = send(invoke, replies, "c1", {"action": "getPlatformStats", "requestId": "s"})
    assert stats["type"] == "PlatformStats"
    assert stats["data"]["connections"] == 1
    assert stats["data"]["latest"] == {}
    assert send(invoke, replies, "c1", {"action": "ping"}) == {"type": "Pong"}


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", "InvalidMessage"),
        ('["subscribe"]', "InvalidMessage"),
        ({"action": "fly", "requestId": "r9"}, "UnknownAction"),
        ({"action": "subscribe", "group": "nope", "requestId": "r9"}, "UnknownGroup"),
        ({"action": "subscribe", "requestId": "r9"}, "ValidationError"),
        (
            {"action": "publish", "group": "alerts", "type": "Alert", "data": {"title": "t"}},
            "ValidationError",
        ),
        ({"action": "publish", "group": "alerts", "type": "Nope", "data": {}}, "ValidationError"),
        (
            {"action": "publish", "group": "admins", "type": "TestMessage", "data": {"message": "x" * 8000}},
            None,  # fits: not an error
        ),
        (
            {
                "action": "publish",
                "group": "user-activity",
                "type": "UserAction",
                "data": {"userId": "u", "action": "a", "details": {"blob": "x" * 131_000}},
            },
            "PayloadTooLarge",
        ),
    ],
)
def test_bad_input_gets_an_error_frame(
    invoke: Invoke, replies: FakeSender, frame: dict | str, code: str | None
) -> None:
    connect(invoke, "c1")
    reply = send(invoke, replies, "c1", frame)
    if code is None:
        assert reply["type"] == "Published"
        return
    assert reply["type"] == "Error"
    assert reply["code"] == code
    assert reply["message"]
    if isinstance(frame, dict) and "requestId" in frame:
        assert reply["requestId"] == frame["requestId"]


def test_publish_over_the_socket_requires_the_admin_role(invoke: Invoke, replies: FakeSender, monkeypatch) -> None:
    monkeypatch.setenv("CONNECT_ROLE", "viewer")
    monkeypatch.setenv("GROUP_ROLES", json.dumps({"admins": "viewer", "alerts": "viewer"}))
    connect(invoke, "c1", roles=("viewer",))
    reply = send(invoke, replies, "c1", {"action": "publish", "group": "alerts", "type": "Alert", "data": {}})
    assert (reply["type"], reply["code"]) == ("Error", "Forbidden")
    assert send(invoke, replies, "c1", {"action": "subscribe", "group": "alerts"})["type"] == "Subscribed"


def test_binary_frames_are_decoded(invoke: Invoke, replies: FakeSender) -> None:
    connect(invoke, "c1")
    assert invoke("message", message_event("c1", b'{"action":"ping"}')) == {"statusCode": 200}
    assert last_reply(replies, "c1") == {"type": "Pong"}


def test_messages_from_an_unknown_connection_are_ignored(invoke: Invoke, replies: FakeSender) -> None:
    assert invoke("message", action_event("ghost", {"action": "ping"})) == {"statusCode": 200}
    assert replies.sent == {}


def test_a_disconnect_for_an_unknown_connection_is_harmless(invoke: Invoke) -> None:
    assert invoke("disconnect", disconnect_event("ghost")) == {"statusCode": 200}


class TestRestAuthorizer:
    ARN = "arn:aws:execute-api:us-east-1:123456789012:r3st4p1/prod/POST/api/admin/realtime/alert"

    def event(self, header: str) -> dict:
        return {"type": "TOKEN", "authorizationToken": header, "methodArn": self.ARN}

    def test_allows_every_route_of_the_stage_for_an_admin(self, invoke: Invoke) -> None:
        policy = invoke("rest_authorizer", self.event(f"Bearer {mint_token('svc', ['admin'])}"))
        [statement] = policy["policyDocument"]["Statement"]
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] == ["arn:aws:execute-api:us-east-1:123456789012:r3st4p1/prod/*/*"]
        assert (policy["context"]["userId"], policy["context"]["roles"]) == ("svc", '["admin"]')

    def test_authenticates_only_roles_are_checked_per_route(self, invoke: Invoke) -> None:
        # The cached policy covers every route, so it cannot depend on the route's role.
        policy = invoke("rest_authorizer", self.event(f"Bearer {mint_token('svc', ['viewer'])}"))
        assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"

    @pytest.mark.parametrize("header", ["", "Bearer", "Basic abc", "Bearer garbage"])
    def test_unauthorized_without_a_valid_bearer_token(self, invoke: Invoke, header: str) -> None:
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            invoke("rest_authorizer", self.event(header))


def test_resume_presence_and_idempotent_publish_over_the_socket(invoke: Invoke, replies: FakeSender) -> None:
    connect(invoke, "c1")
    epoch = send(invoke, replies, "c1", {"action": "subscribe", "group": "alerts"})["epoch"]
    publish = {"action": "publish", "group": "alerts", "type": "TestMessage", "data": {"message": "m"}}
    for key in ("k1", "k2", "k1"):  # the second k1 is a retry: delivered once
        assert send(invoke, replies, "c1", {**publish, "idempotencyKey": key})["type"] == "Published"
    invoke("disconnect", disconnect_event("c1"))
    connect(invoke, "c2")
    reply = send(invoke, replies, "c2", {"action": "getPresence", "group": "alerts", "requestId": "p"})
    assert reply["data"] == {
        "group": "alerts",
        "connections": 0,
        "users": 0,
        "lastSeq": 2,
        "epoch": epoch,
        "userIds": [],
    }
    invoke("message", action_event("c2", {"action": "subscribe", "group": "alerts", "since": 1, "epoch": epoch}))
    frames = [json.loads(f) for f in replies.sent["c2"]][-2:]
    assert frames[0] == {"type": "Subscribed", "group": "alerts", "seq": 2, "epoch": epoch, "recovered": True}
    assert (frames[1]["type"], frames[1]["seq"]) == ("TestMessage", 2)
    conflict = send(invoke, replies, "c2", {**publish, "data": {"message": "other"}, "idempotencyKey": "k1"})
    assert (conflict["type"], conflict["code"]) == ("Error", "IdempotencyConflict")


def test_the_sweeper_function_runs_with_its_environment(invoke: Invoke) -> None:
    assert invoke("sweeper", {"source": "aws.events", "detail-type": "Scheduled Event"}) == {"removed": 0}
