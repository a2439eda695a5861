"""The WebSocket handshake: the authorizer's verdict arrives as the HTTP status of the
upgrade (401 or 403, never a socket that opens and then closes)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from websockets.exceptions import InvalidStatus

from local.tools.client import RealtimeClient
from tests.e2e.support import Clients, connection_count, record_invocations, token
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e


def _unsigned_token() -> str:
    """A token with `alg: none`: well-formed claims, no signature."""

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {
        "sub": "mallory",
        "roles": ["admin"],
        "iss": "https://realtime.local/issuer",
        "aud": "realtime-dashboard",
        "iat": now,
        "exp": now + 600,
    }
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


REFUSED = {
    "no token": ("", 401),
    "not a JWT": ("not-a-jwt", 401),
    "bad signature": (token(secret="another-secret-that-is-long-enough-0123456789"), 401),
    "expired": (token(ttl_seconds=-120), 401),
    "wrong issuer": (token(issuer="https://evil.example/issuer"), 401),
    "wrong audience": (token(audience="another-app"), 401),
    "alg none": (_unsigned_token(), 401),
    "no admin role": (token("bob", ("viewer",)), 403),
    "no roles at all": (token("carol", ()), 403),
}


@pytest.mark.parametrize("case", REFUSED)
async def test_refused_handshakes_get_the_authorizers_status(stack: ObservedDeployment, case: str) -> None:
    jwt, status = REFUSED[case]
    with pytest.raises(InvalidStatus) as refused:
        await RealtimeClient.open(stack.ws_url, jwt or None)
    assert refused.value.response.status_code == status
    expected = "Unauthorized" if status == 401 else "Forbidden"
    assert json.loads(refused.value.response.body or b"{}") == {"message": expected}
    assert stack.connections() == []


async def test_an_admin_connects_and_joins_admins(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        client = await clients.open()
        assert await connection_count(client) == {
            "connections": 1,
            "groups": {"admins": 1, "user-activity": 0, "analytics": 0, "alerts": 0},
        }


@pytest.mark.parametrize("url_suffix", ["", "?token=", "?other=x"])
async def test_without_the_token_parameter_the_authorizer_is_not_even_asked(
    stack: ObservedDeployment, url_suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The deployed identity source is route.request.querystring.token: API Gateway answers
    # 401 by itself when it is missing or empty, even with a valid token in a header.
    invocations = record_invocations(monkeypatch)
    with pytest.raises(InvalidStatus) as refused:
        await RealtimeClient.open(stack.ws_url + url_suffix, None, headers={"Authorization": f"Bearer {token('dave')}"})
    assert refused.value.response.status_code == 401
    assert invocations == []


async def test_connection_ids_look_like_api_gateways_and_are_unique(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        opened = await clients.open_many(20)
        ids = {clients.connection_id(client) for client in opened}
        assert len(ids) == 20
        for connection_id in ids:
            assert len(connection_id) == 16 and connection_id.endswith("=") and connection_id[:-1].isalnum()


async def test_many_clients_connect_at_once(stack: ObservedDeployment) -> None:
    async with Clients(stack) as clients:
        opened = await clients.open_many(25)
        counts = await connection_count(opened[0])
        assert counts["connections"] == 25
        assert counts["groups"]["admins"] == 25
