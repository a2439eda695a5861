"""Lambda authorizers: the WebSocket $connect REQUEST authorizer and the REST TOKEN
authorizer. Both verify the same JWTs with realtime.auth.

API Gateway answers 401 when an authorizer raises exactly "Unauthorized", and 403 when
it returns a Deny policy.

The policies are built here, not with Powertools' authorizer data classes, and nothing on
this path imports pydantic, Powertools or boto3: the authorizers run on every handshake's
cold start (docs/architecture.md, "Cold start"). tests/unit/test_authorizer_policies.py
pins the documents to what Powertools built."""

from __future__ import annotations

import json
from typing import Any, Literal, NamedTuple

from realtime.auth import TokenVerifier, bearer_token
from realtime.domain.access import connect_roles
from realtime.domain.identity import Identity
from realtime.errors import RealtimeError
from realtime.lean_logging import logger

POLICY_VERSION = "2012-10-17"


class MethodArn(NamedTuple):
    """`arn:{partition}:execute-api:{region}:{account}:{apiId}/{stage}/{method or route}/...`"""

    partition: str
    region: str
    account_id: str
    api_id: str
    stage: str

    def resource(self, *path: str) -> str:
        joined = "/".join((self.api_id, self.stage, *path))
        return f"arn:{self.partition}:execute-api:{self.region}:{self.account_id}:{joined}"


def parse_method_arn(arn: object) -> MethodArn:
    """The ARN API Gateway sends as `methodArn`; anything else is refused (a caller that is
    not API Gateway, or a shape we do not know), never answered with another error."""
    if isinstance(arn, str):
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn" and parts[2] == "execute-api":
            _, partition, _, region, account_id, path = parts
            steps = path.split("/")  # apiId, stage, then the method or route and the path
            if len(steps) >= 3 and all((partition, region, account_id, *steps[:3])):
                return MethodArn(partition, region, account_id, steps[0], steps[1])
    logger.info("authorizer event refused: malformed methodArn")
    raise Exception("Unauthorized")  # API Gateway's contract: exactly this message


def _verify(verifier: TokenVerifier, token: str | None) -> Identity:
    try:
        return verifier.verify(token)
    except RealtimeError as exc:
        logger.info("token refused", extra={"reason": exc.message})
        raise Exception("Unauthorized") from None


def authorizer_context(identity: Identity) -> dict[str, str]:
    """What the authorizer hands to the integrations. Values must be flat strings, so the
    roles travel as a JSON array (never joined with a separator a role could contain)."""
    context = {"userId": identity.user_id, "roles": json.dumps(sorted(identity.roles))}
    if identity.expires_at is not None:
        context["expiresAt"] = str(int(identity.expires_at.timestamp()))
    return context


def policy(identity: Identity, effect: Literal["Allow", "Deny"], resources: list[str]) -> dict[str, Any]:
    """The authorizer's answer: who, what it may invoke (or not), and the context."""
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resources}
    return {
        "principalId": identity.user_id,
        "policyDocument": {"Version": POLICY_VERSION, "Statement": [statement]},
        "context": authorizer_context(identity),
    }


def authorize_websocket(event: dict[str, Any], verifier: TokenVerifier) -> dict[str, Any]:
    """$connect: the token is the `token` query parameter (browsers cannot set headers on a
    WebSocket), which is also the route's identity source."""
    query = event.get("queryStringParameters")
    token = query.get("token") if isinstance(query, dict) else None
    identity = _verify(verifier, token if isinstance(token, str) else None)
    arn = parse_method_arn(event.get("methodArn"))
    settings = verifier.settings
    if identity.has_any_role(connect_roles(settings.connect_role, settings.reader_role)):
        return policy(identity, "Allow", [arn.resource("$connect")])
    logger.info("connection forbidden", extra={"user_id": identity.user_id})
    return policy(identity, "Deny", [arn.resource("$connect")])


def authorize_rest(event: dict[str, Any], verifier: TokenVerifier) -> dict[str, Any]:
    """REST TOKEN authorizer on `Authorization: Bearer <JWT>`: authentication only. The
    policy covers every route of the stage (API Gateway caches it per token), so roles are
    checked per route by the function (realtime.domain.access), the same rule as on the
    WebSocket."""
    header = event.get("authorizationToken")
    identity = _verify(verifier, bearer_token(header if isinstance(header, str) else None))
    arn = parse_method_arn(event.get("methodArn"))
    return policy(identity, "Allow", [arn.resource("*", "*")])
