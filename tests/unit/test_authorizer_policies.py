"""The authorizers' answers, document for document: the expected values below are what
they returned when Powertools' authorizer data classes built them (captured before those
were replaced by realtime.entrypoints.authorizers' own few lines), so API Gateway sees the
same policies. A methodArn API Gateway would never send is refused, never a crash."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from realtime import lean_logging
from realtime.auth import TokenVerifier
from realtime.auth_config import AuthSettings
from realtime.entrypoints.authorizers import authorize_rest, authorize_websocket, parse_method_arn

SECRET = "x" * 40
WEBSOCKET_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/$connect"
REST_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/api/admin/realtime/platform-snapshot"


@pytest.fixture
def verifier() -> TokenVerifier:
    return TokenVerifier(
        AuthSettings.from_env({"JWT_ISSUER": "iss", "JWT_AUDIENCE": "aud", "JWT_HS256_SECRET": SECRET})
    )


def token(sub: str, roles: list[str]) -> str:
    claims = {"sub": sub, "iss": "iss", "aud": "aud", "exp": 1900000000, "roles": roles}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def websocket_event(token: str, arn: object = WEBSOCKET_ARN) -> dict[str, Any]:
    return {"type": "REQUEST", "methodArn": arn, "queryStringParameters": {"token": token}}


def rest_event(token: str, arn: object = REST_ARN) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn}


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(lean_logging.JsonFormatter())
    lean_logging.logger.addHandler(handler)
    yield stream
    lean_logging.logger.removeHandler(handler)


def test_a_websocket_allow(verifier: TokenVerifier) -> None:
    assert authorize_websocket(websocket_event(token("alice", ["admin", "ops"])), verifier) == {
        "principalId": "alice",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [WEBSOCKET_ARN]}],
        },
        "context": {"userId": "alice", "roles": '["admin", "ops"]', "expiresAt": "1900000000"},
    }


def test_a_websocket_deny(verifier: TokenVerifier) -> None:
    assert authorize_websocket(websocket_event(token("bob", [])), verifier) == {
        "principalId": "bob",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [WEBSOCKET_ARN]}],
        },
        "context": {"userId": "bob", "roles": "[]", "expiresAt": "1900000000"},
    }


def test_a_rest_allow_covers_every_route_of_the_stage(verifier: TokenVerifier) -> None:
    assert authorize_rest(rest_event(token("svc", ["publisher"])), verifier) == {
        "principalId": "svc",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": ["arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/*"],
                }
            ],
        },
        "context": {"userId": "svc", "roles": '["publisher"]', "expiresAt": "1900000000"},
    }


def test_the_key_order_is_the_documents(verifier: TokenVerifier) -> None:
    answer = authorize_websocket(websocket_event(token("alice", ["admin"])), verifier)
    assert list(answer) == ["principalId", "policyDocument", "context"]
    assert list(answer["policyDocument"]["Statement"][0]) == ["Action", "Effect", "Resource"]


def test_other_partitions_keep_theirs() -> None:
    arn = parse_method_arn("arn:aws-cn:execute-api:cn-north-1:123456789012:abc/dev/POST/api/x")
    assert arn.resource("*", "*") == "arn:aws-cn:execute-api:cn-north-1:123456789012:abc/dev/*/*"


MALFORMED = [
    None,
    42,
    "",
    "garbage",
    "arn:aws:execute-api:eu-west-1:123456789012:abc123",
    "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod",
    "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/",
    "arn:aws:lambda:eu-west-1:123456789012:abc123/prod/$connect",
    "arn:aws:execute-api::123456789012:abc123/prod/$connect",
    "arn:aws:execute-api:eu-west-1::abc123/prod/$connect",
    "arn:aws:execute-api:eu-west-1:123456789012:/prod/$connect",
    "arn:aws:execute-api:eu-west-1:123456789012:abc123//$connect",
]


@pytest.mark.parametrize("arn", MALFORMED)
def test_a_malformed_method_arn_is_refused(verifier: TokenVerifier, arn: object, log_lines: io.StringIO) -> None:
    good = token("alice", ["admin"])
    with pytest.raises(Exception, match=r"^Unauthorized$") as websocket:
        authorize_websocket(websocket_event(good, arn), verifier)
    with pytest.raises(Exception, match=r"^Unauthorized$") as rest:
        authorize_rest(rest_event(good, arn), verifier)
    assert type(websocket.value) is Exception and type(rest.value) is Exception
    assert good not in log_lines.getvalue() and good.split(".")[2] not in log_lines.getvalue()


@pytest.mark.parametrize("query", [None, {}, {"token": 42}, ["token"]])
def test_a_websocket_event_without_a_token_string_is_refused(verifier: TokenVerifier, query: object) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize_websocket({"methodArn": WEBSOCKET_ARN, "queryStringParameters": query}, verifier)


def test_refusals_are_logged_without_the_token(verifier: TokenVerifier, log_lines: io.StringIO) -> None:
    bad = token("alice", ["admin"])[:-4] + "AAAA"
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize_rest(rest_event(bad), verifier)
    [line] = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    assert line["message"] == "token refused" and line["reason"] == "invalid token: InvalidSignatureError"
    assert bad not in log_lines.getvalue() and bad.split(".")[2] not in log_lines.getvalue()
