"""The Python client's auth providers against fakes: a static token, OAuth2 client
credentials (cached until shortly before expiry, refetched once on 401), SigV4 from the
default credential chain."""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import parse_qs

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from realtime_hub import AsyncHub, AuthError, ClientCredentials, Hub, SigV4, StaticToken, TestMessage

BASE = "https://hub.example/prod/api/admin/realtime"
TOKEN_URL = "https://auth.example/oauth2/token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fake:
    """The token endpoint and the hub in one transport: tokens t1, t2...; the hub answers
    200 with the bearer it saw, or 401 for a token listed in `revoked`."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.issued = 0
        self.token_requests: list[httpx.Request] = []
        self.bearers: list[str] = []  # what each API request carried when it was sent
        self.revoked: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            self.token_requests.append(request)
            self.issued += 1
            return httpx.Response(
                200, json={"access_token": f"t{self.issued}", "token_type": "Bearer", "expires_in": self.expires_in}
            )
        bearer = request.headers.get("Authorization", "")
        self.bearers.append(bearer)
        if bearer.removeprefix("Bearer ") in self.revoked:
            return httpx.Response(401, json={"code": "Unauthorized", "message": "revoked"})
        return httpx.Response(200, json={"status": "ok", "seen": bearer})


def seen(hub: Hub) -> str:
    body = hub.status()
    return str(body["seen"])


def test_a_static_token_is_a_bearer_header() -> None:
    fake = Fake()
    with Hub(BASE, auth=StaticToken("abc"), transport=httpx.MockTransport(fake)) as hub:
        assert seen(hub) == "Bearer abc"
    assert StaticToken("abc").bearer() == "abc"


def test_client_credentials_post_the_grant_and_cache_the_token_until_shortly_before_expiry() -> None:
    fake, clock = Fake(expires_in=3600), Clock()
    auth = ClientCredentials(TOKEN_URL, "svc", "s3cret", ["realtime/publish", "realtime/read"], clock=clock)
    with Hub(BASE, auth=auth, transport=httpx.MockTransport(fake)) as hub:
        assert seen(hub) == "Bearer t1"
        clock.now += 3600 - 61  # still more than the 60 s margin left
        assert seen(hub) == "Bearer t1"
        assert len(fake.token_requests) == 1
        clock.now += 2  # within the margin: a new one
        assert seen(hub) == "Bearer t2"
    request = fake.token_requests[0]
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "scope": ["realtime/publish realtime/read"],
    }
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"svc:s3cret").decode()
    assert len(fake.bearers) == 3


def test_a_short_lived_token_is_used_for_half_its_life() -> None:
    fake, clock = Fake(expires_in=60), Clock()
    auth = ClientCredentials(TOKEN_URL, "svc", "s", clock=clock)
    with Hub(BASE, auth=auth, transport=httpx.MockTransport(fake)) as hub:
        seen(hub)
        clock.now += 29
        assert seen(hub) == "Bearer t1"
        clock.now += 2
        assert seen(hub) == "Bearer t2"
    assert "scope" not in parse_qs(fake.token_requests[0].content.decode())


def test_a_401_with_a_cached_token_fetches_a_new_one_once() -> None:
    fake, clock = Fake(), Clock()
    auth = ClientCredentials(TOKEN_URL, "svc", "s", clock=clock)
    with Hub(BASE, auth=auth, transport=httpx.MockTransport(fake)) as hub:
        seen(hub)
        fake.revoked.add("t1")
        assert seen(hub) == "Bearer t2"
        assert fake.bearers == ["Bearer t1", "Bearer t1", "Bearer t2"]
        fake.revoked.add("t2")
        fake.revoked.add("t3")
        with pytest.raises(Exception, match="Unauthorized"):
            hub.status()  # one new token per call, then the 401 is the caller's
    assert len(fake.token_requests) == 3


def test_the_async_client_shares_the_cache() -> None:
    fake, clock = Fake(), Clock()
    auth = ClientCredentials(TOKEN_URL, "svc", "s", clock=clock)

    async def scenario() -> list[str]:
        async with AsyncHub(BASE, auth=auth, transport=httpx.MockTransport(fake)) as hub:
            return [str((await hub.status())["seen"]) for _ in range(3)]

    assert asyncio.run(scenario()) == ["Bearer t1"] * 3
    assert len(fake.token_requests) == 1
    assert auth.cached() == "t1"


def test_a_refusing_token_endpoint_is_an_auth_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_client"})

    auth = ClientCredentials(TOKEN_URL, "svc", "wrong")
    with Hub(BASE, auth=auth, transport=httpx.MockTransport(refuse)) as hub, pytest.raises(AuthError, match="400"):
        hub.status()
    with pytest.raises(AuthError, match="invalid_client"):
        ClientCredentials(TOKEN_URL, "svc", "wrong", http=httpx.Client(transport=httpx.MockTransport(refuse))).bearer()


def test_bearer_fetches_with_its_own_client_for_the_websocket() -> None:
    fake, clock = Fake(), Clock()
    auth = ClientCredentials(TOKEN_URL, "svc", "s", clock=clock, http=httpx.Client(transport=httpx.MockTransport(fake)))
    assert auth.bearer() == "t1" and auth.bearer() == "t1"
    assert len(fake.token_requests) == 1


def test_sigv4_signs_with_the_default_credential_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-example")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-example")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json={"id": "m", "seq": 1, "recipients": 0})

    with Hub(BASE, auth=SigV4("eu-west-1"), transport=httpx.MockTransport(answer)) as hub:
        hub.test_message(TestMessage(message="signed"), idempotency_key="k1")
    request = requests[0]
    authorization = request.headers["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    assert request.headers["X-Amz-Security-Token"] == "session-example"
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "idempotency-key", "content-type"} <= set(signed)

    # The signature is botocore's over exactly what was sent (the body included).
    headers = {name: request.headers[name] for name in signed if name != "host"}
    replay = AWSRequest(method="POST", url=str(request.url), data=request.content, headers=headers)
    replay.context["timestamp"] = request.headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials("AKIDEXAMPLE", "secret-example", "session-example"), "execute-api", "eu-west-1")
    expected = signer.signature(signer.string_to_sign(replay, signer.canonical_request(replay)), replay)
    assert authorization.endswith(f"Signature={expected}")


def test_sigv4_without_credentials_is_an_auth_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    with pytest.raises(AuthError, match="no AWS credentials"):
        SigV4("eu-west-1").credentials()
