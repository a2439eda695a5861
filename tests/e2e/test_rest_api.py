"""The REST API through the emulated proxy integration: authentication first, then
validation naming the field, limits, and the routes that need no token."""

from __future__ import annotations

import logging

import httpx
import pytest

from local.tools.client import RealtimeClient
from realtime.config import MAX_MESSAGE_BYTES
from tests.e2e.support import bearer, rest, token
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e


def anonymous(stack: ObservedDeployment) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.rest_url, timeout=5)


@pytest.mark.parametrize("path", ["/health", "/status"])
async def test_health_and_status_need_no_token(stack: ObservedDeployment, path: str) -> None:
    async with anonymous(stack) as http:
        response = await http.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-amzn-requestid"]
    assert response.json()["status"] in {"healthy", "ok"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        bearer("not-a-jwt"),
        bearer(token(ttl_seconds=-120)),
        bearer(token(audience="someone-else")),
        bearer(token(secret="another-secret-that-is-long-enough-0123456789")),
    ],
)
async def test_the_token_authorizer_answers_before_the_function(
    stack: ObservedDeployment, headers: dict[str, str]
) -> None:
    async with anonymous(stack) as http:
        # An invalid body too: the function never sees the request, so it reveals nothing.
        response = await http.post("/broadcast/analytics", json={"metrics": "nope"}, headers=headers)
    # API Gateway's own answer, in the API's error shape (the stack's gateway responses).
    assert (response.status_code, response.json()) == (401, {"code": "Unauthorized", "message": "Unauthorized"})
    assert response.headers["x-amzn-errortype"] == "UnauthorizedException"


async def test_a_role_is_checked_before_the_body(stack: ObservedDeployment) -> None:
    async with anonymous(stack) as http:
        response = await http.post(
            "/broadcast/analytics", json={"metrics": "nope"}, headers=bearer(token("bob", ("viewer",)))
        )
    assert (response.status_code, response.json()["code"]) == (403, "Forbidden")
    assert "errors" not in response.json()


@pytest.mark.parametrize(("method", "path", "allowed"), [("POST", "/health", "GET"), ("DELETE", "/status", "GET")])
async def test_other_methods_on_a_route_are_405_with_allow(
    stack: ObservedDeployment, method: str, path: str, allowed: str
) -> None:
    async with rest(stack) as http:
        response = await http.request(method, stack.rest_url + path)
    assert (response.status_code, response.json()["code"]) == (405, "MethodNotAllowed")
    assert response.headers["allow"] == allowed


async def test_paths_api_gateway_has_no_resource_for_are_404(stack: ObservedDeployment) -> None:
    async with rest(stack) as http:
        response = await http.get(stack.rest_url)
    assert (response.status_code, response.json()) == (
        404,
        {"code": "NotFound", "message": "Missing Authentication Token"},
    )


async def test_an_invalid_body_is_422_naming_the_field(stack: ObservedDeployment) -> None:
    async with rest(stack) as http:
        response = await http.post("/broadcast/analytics", json={"metrics": {"cpu": "high"}})
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "ValidationError"
        assert any(error["loc"][:3] == ["body", "metrics", "cpu"] for error in body["errors"]), body

        response = await http.post("/broadcast/user-count", json={"totalUsers": 1})
        assert response.status_code == 422
        assert any(error["loc"][-1] == "activeUsers" for error in response.json()["errors"])

        response = await http.post(
            "/broadcast/analytics", content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422


async def test_a_body_over_128_kb_is_413(stack: ObservedDeployment) -> None:
    async with rest(stack) as http:
        metrics = {"cpu": 0.5}
        padding = "x" * (MAX_MESSAGE_BYTES + 1)
        response = await http.post("/broadcast/analytics", json={"metrics": metrics, "period": padding})
    assert response.status_code == 413
    assert response.json()["code"] == "PayloadTooLarge"


async def test_publish_to_any_group_and_unknown_ones(stack: ObservedDeployment) -> None:
    async with rest(stack) as http:
        response = await http.post(
            "/publish",
            json={"group": "user-activity", "type": "UserAction", "data": {"userId": "u", "action": "a"}},
        )
        assert response.status_code == 200
        assert response.json()["recipients"] == 0
        response = await http.post(
            "/publish", json={"group": "nope", "type": "Alert", "data": {"title": "t", "message": "m"}}
        )
        assert (response.status_code, response.json()["code"]) == (404, "UnknownGroup")


async def test_unknown_routes_are_404(stack: ObservedDeployment) -> None:
    async with rest(stack) as http:
        response = await http.get("/no/such/route")
    assert (response.status_code, response.json()["code"]) == (404, "NotFound")


async def test_the_openapi_document_is_served(stack: ObservedDeployment) -> None:
    async with anonymous(stack) as http:
        document = (await http.get("/openapi.json")).json()
    assert "/api/admin/realtime/broadcast/analytics" in document["paths"]


async def test_tokens_never_reach_the_access_log(stack: ObservedDeployment, caplog: pytest.LogCaptureFixture) -> None:
    jwt = token("eve")
    caplog.set_level(logging.DEBUG, logger="local.access")
    caplog.set_level(logging.INFO, logger="uvicorn.error")  # its request lines carry the query string
    async with httpx.AsyncClient(base_url=stack.rest_url, headers=bearer(jwt), timeout=5) as http:
        await http.get("/platform-snapshot", params={"token": jwt, "other": "secret-query"})
    client = await RealtimeClient.open(stack.ws_url, jwt)
    await client.request({"action": "ping"})
    await client.close()
    stack.wait_idle()
    lines = [record.getMessage() for record in caplog.records if record.name.startswith(("local", "uvicorn"))]
    assert any("/platform-snapshot" in line for line in lines)
    assert any("$connect" in line for line in lines) and any("$disconnect" in line for line in lines)
    assert any("/ws?<redacted>" in line for line in lines), "uvicorn's handshake line is redacted, not absent"
    for line in lines:
        assert jwt not in line and "secret-query" not in line, line
