"""Token verification: HS256 locally, RS256/ES256 against a JWKS served over HTTP."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from local.runner.settings import LOCAL_AUDIENCE, LOCAL_DEV_SIGNING_SECRET, LOCAL_ISSUER
from local.tools.tokens import mint_token
from realtime.auth import TokenVerifier, bearer_token
from realtime.config import AuthSettings
from realtime.errors import Forbidden, Unauthorized

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def test_a_valid_local_token_gives_the_identity(verifier: TokenVerifier) -> None:
    identity = verifier.verify(mint_token("alice", ["admin", "ops"]))
    assert identity.user_id == "alice"
    assert identity.roles == {"admin", "ops"}


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "not-a-jwt",
        mint_token("alice", secret="another-secret-that-is-long-enough-123"),
        mint_token("alice", ttl_seconds=-3600),
        mint_token("alice", issuer="https://evil.example"),
        mint_token("alice", audience="someone-else"),
        jwt.encode(
            {"sub": "alice", "iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "exp": time.time() + 60},
            "",
            "none",
        ),
        jwt.encode({"iss": LOCAL_ISSUER, "aud": LOCAL_AUDIENCE, "exp": time.time() + 60}, LOCAL_DEV_SIGNING_SECRET),
    ],
    ids=[
        "missing",
        "empty",
        "garbage",
        "bad-signature",
        "expired",
        "wrong-iss",
        "wrong-aud",
        "alg-none",
        "no-sub",
    ],
)
def test_bad_tokens_are_unauthorized(verifier: TokenVerifier, token: str | None) -> None:
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_the_error_never_contains_the_token(verifier: TokenVerifier) -> None:
    token = mint_token("alice", ttl_seconds=-3600)
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(token)
    assert token not in str(caught.value)


def test_require_distinguishes_forbidden_from_unauthorized(verifier: TokenVerifier) -> None:
    with pytest.raises(Forbidden):
        verifier.require(mint_token("bob", []), "admin")
    assert verifier.require(mint_token("bob", ["admin"]), "admin").user_id == "bob"


@pytest.mark.parametrize(("claim", "expected"), [("admin ops", {"admin", "ops"}), ("admin,ops", {"admin", "ops"})])
def test_roles_may_be_a_delimited_string(auth_settings: AuthSettings, claim: str, expected: set[str]) -> None:
    settings = replace(auth_settings, roles_claim="cognito:groups")
    token = mint_token("alice", [], extra_claims={"cognito:groups": claim})
    assert TokenVerifier(settings).verify(token).roles == expected


def test_settings_need_exactly_one_key_source() -> None:
    base = {"JWT_ISSUER": "i", "JWT_AUDIENCE": "a"}
    with pytest.raises(ValueError, match="exactly one"):
        AuthSettings.from_env(base)
    with pytest.raises(ValueError, match="exactly one"):
        AuthSettings.from_env({**base, "JWT_HS256_SECRET": "x" * 40, "JWT_JWKS_URL": "https://x/jwks"})
    with pytest.raises(ValueError, match="32"):
        AuthSettings.from_env({**base, "JWT_HS256_SECRET": "short"})


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer") is None
    assert bearer_token(None) is None


# -- production mode: asymmetric keys from a JWKS URL -------------------------------------


def _jwk(key: object, kid: str) -> dict:
    public = key.public_key()  # type: ignore[attr-defined]
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    return {**json.loads(algorithm.to_jwk(public)), "kid": kid, "use": "sig"}


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    document = json.dumps({"keys": [_jwk(RSA_KEY, "rsa-1"), _jwk(EC_KEY, "ec-1")]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(document)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


@pytest.fixture
def oidc_verifier(jwks_url: str) -> TokenVerifier:
    return TokenVerifier(
        AuthSettings.from_env({"JWT_ISSUER": LOCAL_ISSUER, "JWT_AUDIENCE": LOCAL_AUDIENCE, "JWT_JWKS_URL": jwks_url})
    )


def _claims() -> dict:
    return {
        "sub": "carol",
        "roles": ["admin"],
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "exp": time.time() + 60,
    }


@pytest.mark.parametrize(("key", "kid", "alg"), [(RSA_KEY, "rsa-1", "RS256"), (EC_KEY, "ec-1", "ES256")])
def test_asymmetric_tokens_verify_against_the_jwks(
    oidc_verifier: TokenVerifier, key: object, kid: str, alg: str
) -> None:
    token = jwt.encode(_claims(), key, algorithm=alg, headers={"kid": kid})  # type: ignore[arg-type]
    assert oidc_verifier.verify(token).user_id == "carol"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_hs256_is_refused_when_the_issuer_uses_asymmetric_keys(oidc_verifier: TokenVerifier) -> None:
    # The classic algorithm-confusion attack: an HMAC keyed with the issuer's public key.
    public_pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(_claims()).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(Unauthorized):
        oidc_verifier.verify(f"{signing_input}.{_b64(signature)}")


def test_unknown_kid_is_unauthorized(oidc_verifier: TokenVerifier) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": "unknown"})
    with pytest.raises(Unauthorized):
        oidc_verifier.verify(token)


def test_unreachable_jwks_is_unauthorized_not_a_crash() -> None:
    verifier = TokenVerifier(
        AuthSettings.from_env({"JWT_ISSUER": "i", "JWT_AUDIENCE": "a", "JWT_JWKS_URL": "http://127.0.0.1:9/jwks.json"})
    )
    token = jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "rsa-1"})
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_cognito_access_tokens_carry_the_audience_as_client_id(verifier: TokenVerifier) -> None:
    claims = {"sub": "svc", "iss": LOCAL_ISSUER, "exp": time.time() + 60, "token_use": "access"}
    good = jwt.encode({**claims, "client_id": LOCAL_AUDIENCE}, LOCAL_DEV_SIGNING_SECRET)
    assert verifier.verify(good).user_id == "svc"
    for bad in (
        {**claims, "client_id": "another-app"},
        {**claims, "token_use": "id", "client_id": LOCAL_AUDIENCE},
        {**claims, "token_use": "access"},
    ):
        with pytest.raises(Unauthorized):
            verifier.verify(jwt.encode(bad, LOCAL_DEV_SIGNING_SECRET))


def test_a_list_audience_must_include_ours(verifier: TokenVerifier) -> None:
    claims = {"sub": "svc", "iss": LOCAL_ISSUER, "exp": time.time() + 60}
    assert verifier.verify(jwt.encode({**claims, "aud": ["x", LOCAL_AUDIENCE]}, LOCAL_DEV_SIGNING_SECRET))
    with pytest.raises(Unauthorized):
        verifier.verify(jwt.encode({**claims, "aud": ["x", "y"]}, LOCAL_DEV_SIGNING_SECRET))


# -- services: client-credentials tokens carry scopes, which grant roles -------------------


def _service_token(scope: object, **claims: object) -> str:
    now = int(time.time())
    body = {"sub": "svc", "client_id": "svc", "token_use": "access", "iss": LOCAL_ISSUER, "exp": now + 60}
    return jwt.encode({**body, "scope": scope, **claims}, LOCAL_DEV_SIGNING_SECRET, algorithm="HS256")


@pytest.fixture
def service_verifier(auth_settings: AuthSettings) -> TokenVerifier:
    return TokenVerifier(replace(auth_settings, audiences=(LOCAL_AUDIENCE, "svc")))


@pytest.mark.parametrize(
    ("scope", "roles"),
    [
        ("realtime/publish", {"publisher"}),
        ("realtime/read", {"reader"}),
        ("realtime/read realtime/publish", {"reader", "publisher"}),
        (["realtime/read"], {"reader"}),  # a list, as some issuers sign it (scp)
        ("openid realtime/nope", set()),  # unknown scopes grant nothing
        ("x,realtime/publish", set()),  # a comma is part of a scope: never a separator
        ("", set()),
        (42, set()),
    ],
)
def test_scopes_grant_the_configured_roles(service_verifier: TokenVerifier, scope: object, roles: set[str]) -> None:
    assert service_verifier.verify(_service_token(scope)).roles == roles


def test_scope_roles_and_the_scopes_claim_are_configurable(auth_settings: AuthSettings) -> None:
    settings = AuthSettings.from_env(
        {
            "JWT_ISSUER": LOCAL_ISSUER,
            "JWT_HS256_SECRET": LOCAL_DEV_SIGNING_SECRET,
            "JWT_AUDIENCE": f"{LOCAL_AUDIENCE} svc",
            "JWT_SCOPES_CLAIM": "scp",
            "JWT_SCOPE_ROLES": '{"https://api.example.com/hub.write": "publisher", "hub.read": ["reader", "ops"]}',
        }
    )
    verifier = TokenVerifier(settings)
    token = _service_token(None, scp=["https://api.example.com/hub.write", "hub.read"])
    assert verifier.verify(token).roles == {"publisher", "reader", "ops"}
    assert verifier.verify(_service_token("realtime/publish")).roles == set()  # scope is not the claim now


def test_a_service_token_for_another_client_is_refused(service_verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthorized):
        service_verifier.verify(_service_token("realtime/publish", client_id="other-app"))


@pytest.mark.parametrize(
    "mapping",
    ['{"has space": ["reader"]}', '{"realtime/read": ["x,admin"]}', '["reader"]'],
)
def test_a_bad_scope_mapping_is_refused_at_cold_start(mapping: str) -> None:
    env = {"JWT_ISSUER": LOCAL_ISSUER, "JWT_AUDIENCE": "a", "JWT_HS256_SECRET": LOCAL_DEV_SIGNING_SECRET}
    with pytest.raises(ValueError, match="JWT_SCOPE_ROLES"):
        AuthSettings.from_env({**env, "JWT_SCOPE_ROLES": mapping})
