"""The REST handler with API Gateway proxy events over moto's DynamoDB."""

import json
from pathlib import Path

import pytest

from local.tools.tokens import mint_token
from realtime.entrypoints.rest import openapi_document
from tests.fakes import FakeSender
from tests.integration.conftest import Invoke
from tests.integration.events import action_event, authorizer_event, connect_event, rest_event

BASE = "/api/admin/realtime"
ADMIN = mint_token("svc-billing", ["admin"])
DOCS_OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def call(invoke: Invoke, method: str, path: str, body: object = None, token: str | None = ADMIN) -> tuple[int, dict]:
    response = invoke("rest_api", rest_event(method, BASE + path, body, token))
    return response["statusCode"], json.loads(response["body"])


def dashboard(invoke: Invoke, connection_id: str, *groups: str) -> None:
    policy = invoke("authorizer", authorizer_event(connection_id, mint_token("alice", ["admin"])))
    invoke("connect", connect_event(connection_id, policy["context"], policy["principalId"]))
    for group in groups:
        invoke("message", action_event(connection_id, {"action": "subscribe", "group": group}))


def test_health_and_status_need_no_token(invoke: Invoke) -> None:
    assert call(invoke, "GET", "/health", token=None) == (200, {"status": "healthy"})
    assert call(invoke, "GET", "/status", token=None) == (200, {"status": "ok", "connections": 0})


@pytest.mark.parametrize(
    ("token", "status", "code"),
    [
        (None, 401, "Unauthorized"),
        ("garbage", 401, "Unauthorized"),
        (mint_token("svc", ["admin"], ttl_seconds=-60), 401, "Unauthorized"),
        (mint_token("svc", ["viewer"]), 403, "Forbidden"),
    ],
)
def test_protected_routes_check_the_token_before_the_body(
    invoke: Invoke, token: str | None, status: int, code: str
) -> None:
    got_status, body = call(invoke, "POST", "/alert", {"bad": "body"}, token=token)
    assert (got_status, body["code"]) == (status, code)


ROUTES = [
    ("/broadcast/platform-update", {"status": "healthy"}, "PlatformStatus", "admins"),
    ("/broadcast/user-count", {"totalUsers": 5, "activeUsers": 2}, "UserCountUpdate", "analytics"),
    ("/broadcast/generation-metrics", {"totalGenerations": 1}, "GenerationMetrics", "analytics"),
    ("/broadcast/revenue", {"totalRevenue": 12.5, "currency": "USD"}, "RevenueUpdate", "analytics"),
    ("/broadcast/analytics", {"metrics": {"cpu": 0.4}}, "AnalyticsUpdate", "analytics"),
    ("/broadcast/test", {"message": "hi"}, "TestMessage", "admins"),
    ("/alert", {"title": "t", "message": "m", "severity": "critical"}, "Alert", "alerts"),
    ("/alert/warning", {"title": "t", "message": "m"}, "Alert", "alerts"),
    ("/alert/error", {"title": "t", "message": "m", "severity": "info"}, "Alert", "alerts"),
    ("/alert/performance", {"metric": "p99", "value": 2, "threshold": 1}, "PerformanceAlert", "alerts"),
    ("/notify/user-action", {"userId": "u1", "action": "login"}, "UserAction", "user-activity"),
    (
        "/notify/role-assignment",
        {"userId": "u1", "role": "r", "change": "revoked"},
        "RoleAssignment",
        "user-activity",
    ),
    ("/notify/system-event", {"eventType": "deploy", "message": "v2"}, "SystemEvent", "admins"),
]


@pytest.mark.parametrize(("path", "body", "event_type", "group"), ROUTES, ids=[r[0] for r in ROUTES])
def test_each_route_publishes_its_event_to_its_group(
    invoke: Invoke, replies: FakeSender, path: str, body: dict, event_type: str, group: str
) -> None:
    dashboard(invoke, "c1", group)
    status, result = call(invoke, "POST", path, body)
    assert status == 200, result
    assert {k: result[k] for k in ("type", "group", "seq", "recipients", "delivered", "gone")} == {
        "type": event_type,
        "group": group,
        "seq": 1,
        "recipients": 1,
        "delivered": 1,
        "gone": 0,
    }
    envelope = json.loads(replies.sent["c1"][-1])
    assert (envelope["type"], envelope["group"], envelope["id"]) == (event_type, group, result["id"])
    if path.startswith("/alert/") and path != "/alert/performance":
        assert envelope["data"]["severity"] == path.rsplit("/", 1)[1]


def test_publish_any_type_to_any_group_and_snapshot(invoke: Invoke) -> None:
    status, result = call(
        invoke, "POST", "/publish", {"group": "alerts", "type": "TestMessage", "data": {"message": "x"}}
    )
    assert (status, result["group"], result["type"]) == (200, "alerts", "TestMessage")
    status, snapshot = call(invoke, "GET", "/platform-snapshot")
    assert status == 200
    assert snapshot["latest"]["TestMessage"]["id"] == result["id"]
    assert snapshot["groups"] == {"admins": 0, "user-activity": 0, "analytics": 0, "alerts": 0}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/alert", {"title": "t", "message": "m", "severity": "panic"}, "severity"),
        ("/broadcast/revenue", {"totalRevenue": 1, "currency": "dollars"}, "currency"),
        ("/broadcast/user-count", {"totalUsers": 1}, "activeUsers"),
        ("/publish", {"group": "alerts", "type": "Alert", "data": {"title": "t"}}, "message"),
        ("/publish", {"group": "alerts", "data": {}}, "type"),
    ],
)
def test_invalid_bodies_are_422_naming_the_field(invoke: Invoke, path: str, body: dict, field: str) -> None:
    status, result = call(invoke, "POST", path, body)
    assert status == 422
    assert result["code"] == "ValidationError"
    assert any(field in error["loc"] for error in result["errors"]), result


def test_unknown_group_is_404_and_malformed_json_is_422(invoke: Invoke) -> None:
    status, result = call(
        invoke, "POST", "/publish", {"group": "nope", "type": "TestMessage", "data": {"message": "x"}}
    )
    assert (status, result["code"]) == (404, "UnknownGroup")
    status, result = call(invoke, "POST", "/alert", "{not json")
    assert (status, result["code"]) == (422, "ValidationError")


def test_bodies_over_128_kb_are_413(invoke: Invoke) -> None:
    status, result = call(invoke, "POST", "/broadcast/test", {"message": "x" * 140_000})
    assert (status, result["code"]) == (413, "PayloadTooLarge")


def test_unknown_routes_are_404(invoke: Invoke) -> None:
    status, result = call(invoke, "GET", "/nope")
    assert (status, result["code"]) == (404, "NotFound")


def test_openapi_is_served_and_the_committed_copy_is_in_sync(invoke: Invoke) -> None:
    status, document = call(invoke, "GET", "/openapi.json", token=None)
    assert status == 200
    assert f"{BASE}/alert/performance" in document["paths"]
    assert json.loads(DOCS_OPENAPI.read_text()) == json.loads(openapi_document()), "run `make openapi`"


def test_cors_headers_for_configured_origins(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    from realtime.entrypoints.rest import _cors

    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "https://admin.example.com, https://ops.example.com")
    cors = _cors()
    assert cors is not None
    headers = cors.to_dict("https://ops.example.com")
    assert headers["Access-Control-Allow-Origin"] == "https://ops.example.com"
    assert "Idempotency-Key" in headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in cors.to_dict("https://evil.example.com")
    monkeypatch.delenv("CORS_ALLOW_ORIGINS")
    assert _cors() is None


def call_with(invoke: Invoke, path: str, body: object, key: str) -> tuple[int, dict]:
    event = rest_event("POST", BASE + path, body, ADMIN)
    event["headers"]["Idempotency-Key"] = key
    response = invoke("rest_api", event)
    return response["statusCode"], json.loads(response["body"])


def test_idempotency_key_returns_the_first_answer_and_delivers_once(invoke: Invoke, replies: FakeSender) -> None:
    dashboard(invoke, "c1", "alerts")
    first = call_with(invoke, "/alert", {"title": "t", "message": "m"}, "retry-1")
    assert first[0] == 200
    assert call_with(invoke, "/alert", {"title": "t", "message": "m"}, "retry-1") == first
    envelopes = [json.loads(f) for f in replies.sent["c1"] if b'"Alert"' in f]
    assert len(envelopes) == 1
    status, body = call_with(invoke, "/alert", {"title": "t", "message": "changed"}, "retry-1")
    assert (status, body["code"]) == (409, "IdempotencyConflict")
    assert call_with(invoke, "/alert", {"title": "t", "message": "m"}, "retry-2")[1]["seq"] == 2


def test_batch_publish_answers_one_result_per_event(invoke: Invoke, replies: FakeSender) -> None:
    dashboard(invoke, "c1", "alerts")
    events = [
        {"group": "alerts", "type": "Alert", "data": {"title": "a", "message": "1"}},
        {"group": "alerts", "type": "Alert", "data": {"title": "b"}},
        {"userId": "alice", "type": "TestMessage", "data": {"message": "direct"}},
    ]
    status, body = call(invoke, "POST", "/publish", {"events": events})
    assert status == 200
    assert [r["status"] for r in body["results"]] == [200, 422, 200]
    assert body["results"][1]["errors"][0]["loc"][:2] == ["data", "message"]
    assert body["results"][2]["userId"] == "alice"
    assert [json.loads(f).get("type") for f in replies.sent["c1"]][-2:] == ["Alert", "TestMessage"]
    status, body = call(invoke, "POST", "/publish", {"events": [{}] * 101})
    assert status == 422


def test_publish_to_a_user(invoke: Invoke, replies: FakeSender) -> None:
    dashboard(invoke, "tab1")
    dashboard(invoke, "tab2")
    status, body = call(
        invoke, "POST", "/publish", {"userId": "alice", "type": "TestMessage", "data": {"message": "hi"}}
    )
    assert status == 200
    assert (body["userId"], body["recipients"], body["delivered"]) == ("alice", 2, 2)
    assert "group" not in body


def test_presence_and_history_routes(invoke: Invoke) -> None:
    dashboard(invoke, "c1", "alerts")
    for i in range(3):
        call(invoke, "POST", "/alert", {"title": "t", "message": str(i)})
    status, body = call(invoke, "GET", "/groups/alerts")
    assert status == 200
    assert {k: body[k] for k in ("group", "connections", "users", "lastSeq")} == {
        "group": "alerts",
        "connections": 1,
        "users": 1,
        "lastSeq": 3,
    }
    status, body = call(invoke, "GET", "/groups")
    assert [g["group"] for g in body["groups"]] == ["admins", "user-activity", "analytics", "alerts"]
    event = rest_event("GET", f"{BASE}/groups/alerts/history", None, ADMIN)
    event["queryStringParameters"] = {"after": "1", "limit": "1"}
    event["multiValueQueryStringParameters"] = {"after": ["1"], "limit": ["1"]}
    page = json.loads(invoke("rest_api", event)["body"])
    assert ([item["seq"] for item in page["items"]], page["next"]) == ([2], 2)
    event["queryStringParameters"], event["multiValueQueryStringParameters"] = (
        {"after": "2"},
        {"after": ["2"]},
    )
    page = json.loads(invoke("rest_api", event)["body"])
    assert ([item["seq"] for item in page["items"]], page["next"]) == ([3], None)
    assert call(invoke, "GET", "/groups/nope")[0] == 404
    assert call(invoke, "GET", "/groups/nope/history")[0] == 404
