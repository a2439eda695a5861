"""The JWT attack matrix, on both faces of the running stack: the WebSocket handshake
(authorizer) and the REST API (TOKEN authorizer, then the function). Every forged, expired,
misdirected or malformed token is refused with 401; valid tokens with odd claims are
accepted with exactly the identity they prove (never more)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.exceptions import InvalidStatus

from local.runner.settings import LOCAL_AUDIENCE, LOCAL_DEV_SIGNING_SECRET, LOCAL_ISSUER
from local.tools.client import RealtimeClient
from tests.e2e.support import TIMEOUT
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e


def b64(data: bytes | dict[str, Any]) -> str:
    raw = json.dumps(data).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "mallory",
        "roles": ["admin"],
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "iat": now,
        "exp": now + 600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(headers: dict[str, Any] | None = None, **changes: Any) -> str:
    return jwt.encode(claims(**changes), LOCAL_DEV_SIGNING_SECRET, algorithm="HS256", headers=headers)


def unsigned(alg: str) -> str:
    return f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims())}."


def tampered() -> str:
    header, _body, signature = signed().split(".")
    return f"{header}.{b64(claims(sub='root', roles=['admin', 'publisher']))}.{signature}"


def rs256() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims(), key, algorithm="RS256")


def hs_with_public_key() -> str:
    """The classic confusion: HS256 "signed" with an RSA public key as the secret."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64({"alg": "HS256", "typ": "JWT"})
    body = b64(claims())
    import hashlib
    import hmac

    signature = hmac.new(public, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


REFUSED: dict[str, str] = {
    "garbage": "not-a-jwt",
    "two segments": "abc.def",
    "tampered claims": tampered(),
    "tampered signature": signed()[:-4] + "AAAA",
    "alg none": unsigned("none"),
    "alg None": unsigned("None"),
    "alg NONE": unsigned("NONE"),
    "alg nOnE": unsigned("nOnE"),
    "RS256 where HS256 is configured": rs256(),
    "HS256 signed with a public key": hs_with_public_key(),
    "expired": signed(exp=int(time.time()) - 120),
    "nbf in the future": signed(nbf=int(time.time()) + 3600),
    "iat in the future": signed(iat=int(time.time()) + 3600),
    "no exp": signed(exp=None),
    "wrong iss": signed(iss="https://evil.example/issuer"),
    "no iss": signed(iss=None),
    "wrong aud": signed(aud="another-app"),
    "aud list without ours": signed(aud=["a", "b"]),
    "empty sub": signed(sub=""),
    "no sub": signed(sub=None),
    "3000-character sub": signed(sub="a" * 3000),
    "sub with a space": signed(sub="alice bob"),
    "sub with a newline": signed(sub="alice\nadmin"),
    "sub with a hash": signed(sub="USER#alice"),
    "non-ASCII sub": signed(sub="ålice"),
    "numeric sub": signed(sub=12345),
    "kid path traversal, other key": jwt.encode(
        claims(), "another-secret-that-is-long-enough-0123456789", algorithm="HS256", headers={"kid": "../../dev/null"}
    ),
    "jku to an attacker's keys": jwt.encode(
        claims(),
        "another-secret-that-is-long-enough-0123456789",
        algorithm="HS256",
        headers={"jku": "https://evil.example/jwks.json", "kid": "evil"},
    ),
    "oversized": signed(padding="x" * 9000),
}

# Valid signatures with odd claims: accepted, with exactly the identity they prove.
ACCEPTED: dict[str, tuple[str, list[str]]] = {
    "roles as a string": (signed(roles="admin ops"), ["admin", "ops"]),
    "roles with a separator inside one name": (signed(roles=["admin", "x,publisher"]), ["admin"]),
    "roles of odd types": (signed(roles=["admin", 1, None, {"r": "publisher"}, ["publisher"]]), ["admin"]),
    "roles as an object": (signed(roles={"admin": True}), []),
    "kid and jku ignored (our key still verifies)": (
        signed(headers={"kid": "whatever", "jku": "https://evil.example/jwks.json"}),
        ["admin"],
    ),
}


@pytest.mark.parametrize("case", REFUSED)
async def test_forged_or_invalid_tokens_are_401_on_the_websocket(stack: ObservedDeployment, case: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await RealtimeClient.open(stack.ws_url, REFUSED[case], timeout=TIMEOUT)
    # An oversized token makes the URL longer than API Gateway's 8 KB: 414 before any authorizer.
    assert refused.value.response.status_code == (414 if case == "oversized" else 401)
    assert stack.connections() == []


@pytest.mark.parametrize("case", REFUSED)
async def test_forged_or_invalid_tokens_are_401_on_rest(stack: ObservedDeployment, case: str) -> None:
    async with httpx.AsyncClient(base_url=stack.rest_url, timeout=TIMEOUT) as http:
        response = await http.get("/me", headers={"Authorization": f"Bearer {REFUSED[case]}"})
    if case == "oversized":  # headers over API Gateway's 10 KB: refused before any authorizer
        assert response.status_code == 431, response.text
        return
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "Unauthorized"
    assert REFUSED[case] not in response.text


@pytest.mark.parametrize("case", ACCEPTED)
async def test_odd_claims_prove_exactly_their_identity(stack: ObservedDeployment, case: str) -> None:
    token, roles = ACCEPTED[case]
    async with httpx.AsyncClient(base_url=stack.rest_url, timeout=TIMEOUT) as http:
        response = await http.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert (response.json()["userId"], sorted(response.json()["roles"])) == ("mallory", sorted(roles))


async def test_a_token_in_the_wrong_place_is_not_a_token(stack: ObservedDeployment) -> None:
    token = signed()
    with pytest.raises(InvalidStatus) as refused:  # the WebSocket reads only ?token=
        await RealtimeClient.open(stack.ws_url, None, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT)
    assert refused.value.response.status_code == 401
    async with httpx.AsyncClient(base_url=stack.rest_url, timeout=TIMEOUT) as http:
        response = await http.get("/me", params={"token": token})  # REST reads only Authorization
        assert response.status_code == 401
        response = await http.get("/me", headers={"Authorization": f"Basic {token}"})
        assert response.status_code == 401
