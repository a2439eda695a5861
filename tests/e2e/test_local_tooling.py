"""The /_local/ tooling routes (the bus's events, with every connection and user id, and
its dead letters) answer admins only: 401 without a valid bearer token, 403 without the
admin role, JSON bodies {"code", "message"} like the REST API's."""

from __future__ import annotations

import pytest

from local.tools.tokens import mint_token
from tests.e2e.support import Clients, token, tooling
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

ROUTES = [("GET", "/_local/events"), ("POST", "/_local/events"), ("GET", "/_local/dead-letters")]
EVENT = {"source": "my.service", "detail-type": "Local Tooling Test", "detail": {"n": 1}}


def bad_tokens() -> dict[str, str]:
    return {
        "no token": "",
        "not a bearer token": "",  # sent as Basic below
        "not a JWT": "not-a-jwt",
        "expired": token("ops", ttl_seconds=-3600),
        "signed with another secret": mint_token("ops", ["admin"], secret="another-secret-of-at-least-32-characters"),
        "another issuer": token("ops", issuer="https://elsewhere.example"),
    }


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("case", list(bad_tokens()))
async def test_no_valid_token_is_401(stack: ObservedDeployment, method: str, path: str, case: str) -> None:
    async with tooling(stack, bad_tokens()[case]) as http:
        if case == "no token":
            del http.headers["Authorization"]
        elif case == "not a bearer token":
            http.headers["Authorization"] = "Basic b3BzOmFkbWlu"
        response = await http.request(method, path, json=EVENT if method == "POST" else None)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "Unauthorized" and response.json()["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_a_token_without_the_admin_role_is_403(stack: ObservedDeployment, method: str, path: str) -> None:
    async with tooling(stack, token("viewer", roles=("viewer",))) as http:
        response = await http.request(method, path, json=EVENT if method == "POST" else None)
    assert response.status_code == 403, response.text
    assert response.json() == {"code": "Forbidden", "message": "the 'admin' role is required"}


async def test_refused_calls_reveal_and_change_nothing(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, tooling(stack, token("viewer", roles=("viewer",))) as http:
        client = await clients.open()
        connection_id = clients.connection_id(client)
        before = stack.event_count()
        listed = await http.get("/_local/events")
        put = await http.post("/_local/events", json=EVENT)
        assert (listed.status_code, put.status_code) == (403, 403)
        assert connection_id not in listed.text
        assert stack.event_count() == before  # the refused POST put nothing on the bus


async def test_an_admin_lists_the_connections_events_and_puts_events(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients, tooling(stack) as http:
        mark = stack.event_count()
        client = await clients.open()
        connection_id = clients.connection_id(client)
        put = await http.post("/_local/events", json=EVENT)
        assert put.status_code == 200 and put.json()["EventId"], put.text
        listed = await http.get("/_local/events", params={"after": mark})
        assert listed.status_code == 200, listed.text
        details = [item["event"]["detail"] for item in listed.json()]
        assert {"n": 1} in details
        assert any(detail.get("connectionId") == connection_id for detail in details)
        letters = await http.get("/_local/dead-letters")
        assert letters.status_code == 200 and isinstance(letters.json(), list)
