"""Every event the emulator builds is one AWS could send: it validates with Powertools'
parser models (and the layer's own ConnectEvent), both as built and as the running
stack actually delivers them to the functions."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
)
from aws_lambda_powertools.utilities.parser.models import (
    ApiGatewayAuthorizerToken,
    APIGatewayProxyEventModel,
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
    EventBridgeModel,
)
from pydantic import BaseModel

from local.emulated import gateway_requests as events
from realtime.entrypoints.gateway_events import ConnectEvent
from tests.e2e.support import Clients, record_invocations, rest, token
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

GATEWAY = events.Gateway(domain_name="127.0.0.1:8000")
REQUEST = events.HttpRequest(
    headers=[("Host", "127.0.0.1:8000"), ("User-Agent", "dashboard/1.0"), ("Accept", "a"), ("Accept", "b")],
    query=[("token", "t1"), ("tag", "x"), ("tag", "y")],
    source_ip="127.0.0.1",
)
AUTHORIZER = {
    "userId": "alice",
    "roles": '["admin"]',
    "expiresAt": "1796190400",
    "principalId": "alice",
    "integrationLatency": 3,
}


def session(authorizer: dict[str, Any] | None = None) -> events.Session:
    return events.Session(
        connection_id="L0SM9cOFvHcCIhw=",
        connected_at_ms=events.now_ms(),
        source_ip="127.0.0.1",
        user_agent="dashboard/1.0",
        authorizer=dict(authorizer or {}),
    )


def test_authorizer_event_reads_like_aws() -> None:
    event = APIGatewayAuthorizerRequestEvent(events.authorizer_event(GATEWAY, session(), REQUEST))
    assert event.get_type == "REQUEST"
    assert event.method_arn == "arn:aws:execute-api:us-east-1:123456789012:localapi01/local/$connect"
    assert (event.parsed_arn.region, event.parsed_arn.api_id, event.parsed_arn.stage) == (
        "us-east-1",
        "localapi01",
        "local",
    )
    assert event.query_string_parameters == {"token": "t1", "tag": "y"}
    assert event.raw_event["multiValueQueryStringParameters"] == {"token": ["t1"], "tag": ["x", "y"]}
    assert event.headers.get("user-agent") == "dashboard/1.0"
    assert event.raw_event["multiValueHeaders"]["Accept"] == ["a", "b"]
    context = event.raw_event["requestContext"]
    assert (context["connectionId"], context["routeKey"], context["eventType"]) == (
        "L0SM9cOFvHcCIhw=",
        "$connect",
        "CONNECT",
    )


def test_connect_event_validates_with_powertools_and_the_layer() -> None:
    event = events.connect_event(GATEWAY, session(AUTHORIZER), REQUEST)
    APIGatewayWebSocketConnectEventModel.model_validate(event)
    parsed = ConnectEvent.model_validate(event)
    assert parsed.request_context.authorizer.identity.user_id == "alice"
    assert parsed.request_context.authorizer.identity.roles == frozenset({"admin"})


@pytest.mark.parametrize(
    ("frame", "route"),
    [
        ('{"action":"subscribe","group":"analytics"}', "subscribe"),
        ('{"action":"ping"}', "ping"),
        ('{"action":"nope"}', "$default"),
        ('{"action":["subscribe"]}', "$default"),
        ("not json", "$default"),
        ("[1, 2]", "$default"),
        (b"\x00\x01binary", "$default"),
    ],
)
def test_message_event_validates_and_routes_on_action(frame: str | bytes, route: str) -> None:
    event = events.message_event(GATEWAY, session(AUTHORIZER), frame)
    parsed = APIGatewayWebSocketMessageEventModel.model_validate(event)
    assert parsed.request_context.route_key == route
    assert parsed.is_base64_encoded is isinstance(frame, bytes)
    expected = base64.b64encode(frame).decode() if isinstance(frame, bytes) else frame
    assert parsed.body == expected
    assert event["requestContext"]["authorizer"]["userId"] == "alice"


def test_disconnect_event_validates() -> None:
    event = events.disconnect_event(GATEWAY, session(AUTHORIZER), 1006, "Connection closed abnormally")
    parsed = APIGatewayWebSocketDisconnectEventModel.model_validate(event)
    assert parsed.request_context.disconnect_status_code == 1006
    assert parsed.request_context.disconnect_reason == "Connection closed abnormally"


PROXY = events.RestResource("/api/admin/realtime/{proxy+}", {"proxy": "broadcast/analytics"})


@pytest.mark.parametrize(("body", "binary"), [(b"", False), (b'{"a":1}', False), (b"\xff\xfe", True)])
def test_rest_event_validates(body: bytes, binary: bool) -> None:
    event = events.rest_event(
        GATEWAY,
        method="POST",
        path="/api/admin/realtime/broadcast/analytics",
        resource=PROXY,
        request=REQUEST,
        body=body,
        request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        authorizer=AUTHORIZER,
    )
    parsed = APIGatewayProxyEventModel.model_validate(event)
    assert parsed.resource == parsed.requestContext.resourcePath == "/api/admin/realtime/{proxy+}"
    assert parsed.path == "/api/admin/realtime/broadcast/analytics"
    assert parsed.pathParameters == {"proxy": "broadcast/analytics"}
    assert parsed.multiValueQueryStringParameters == {"token": ["t1"], "tag": ["x", "y"]}
    assert parsed.isBase64Encoded is binary
    assert event["requestContext"]["authorizer"] == AUTHORIZER
    if binary:
        assert base64.b64decode(event["body"]) == body
    else:
        assert event["body"] == (body.decode() or None)


def test_a_public_rest_route_has_its_own_resource_and_no_authorizer() -> None:
    event = events.rest_event(
        GATEWAY,
        method="GET",
        path="/api/admin/realtime/health",
        resource=events.RestResource("/api/admin/realtime/health"),
        request=REQUEST,
        body=b"",
        request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    )
    parsed = APIGatewayProxyEventModel.model_validate(event)
    assert (parsed.resource, parsed.pathParameters) == ("/api/admin/realtime/health", None)
    assert "authorizer" not in event["requestContext"]


def test_the_scheduled_event_validates() -> None:
    parsed = EventBridgeModel.model_validate(events.scheduled_event(GATEWAY, "realtime-local-sweep"))
    assert (parsed.detail_type, parsed.source) == ("Scheduled Event", "aws.events")
    assert parsed.resources == ["arn:aws:events:us-east-1:123456789012:rule/realtime-local-sweep"]


async def test_the_running_stack_sends_valid_events(stack: ObservedDeployment, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = record_invocations(monkeypatch)
    backend = token(f"backend-{uuid.uuid4().hex}")  # a token the authorizer's cache has not seen
    async with Clients(stack) as clients:
        client = await clients.open()
        assert (await client.request({"action": "ping"}))["type"] == "Pong"
        await client.send(b"\x00binary")
        assert (await client.receive())["code"] == "InvalidMessage"
        async with rest(stack, backend) as http:
            assert (await http.get("/health?verbose=1")).status_code == 200
            assert (await http.get("/platform-snapshot")).status_code == 200
            assert (await http.get("/platform-snapshot")).status_code == 200
        await client.close()
    stack.wait_idle()

    names = [name for name, _ in recorded]
    assert names == [
        "authorizer",
        "connect",
        "message",
        "message",
        "rest_api",  # /health: public, no authorizer
        "rest_authorizer",  # the first /platform-snapshot; the second one's answer is cached
        "rest_api",
        "rest_api",
        "disconnect",
    ]
    models: dict[str, type[BaseModel]] = {
        "connect": ConnectEvent,
        "message": APIGatewayWebSocketMessageEventModel,
        "disconnect": APIGatewayWebSocketDisconnectEventModel,
        "rest_api": APIGatewayProxyEventModel,
        "rest_authorizer": ApiGatewayAuthorizerToken,
    }
    for name, event in recorded:
        if name == "authorizer":
            assert event["type"] == "REQUEST" and event["queryStringParameters"]["token"]
        else:
            models[name].model_validate(event)
    connect = recorded[1][1]
    APIGatewayWebSocketConnectEventModel.model_validate(connect)
    assert connect["requestContext"]["authorizer"]["principalId"] == "alice"
    assert recorded[-1][1]["requestContext"]["disconnectStatusCode"] == 1000
    websocket_events = [event for name, event in recorded if name in {"authorizer", "connect", "message", "disconnect"}]
    assert {event["requestContext"]["connectionId"] for event in websocket_events} == {
        connect["requestContext"]["connectionId"]
    }

    token_event = recorded[5][1]
    assert token_event["authorizationToken"] == f"Bearer {backend}"
    assert token_event["methodArn"].endswith("/local/GET/api/admin/realtime/platform-snapshot")
    health, snapshot = recorded[4][1], recorded[6][1]
    assert "authorizer" not in health["requestContext"]
    assert snapshot["resource"] == "/api/admin/realtime/{proxy+}"
    assert snapshot["pathParameters"] == {"proxy": "platform-snapshot"}
    assert snapshot["requestContext"]["authorizer"]["principalId"] == snapshot["requestContext"]["authorizer"]["userId"]
