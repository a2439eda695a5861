"""Lambda authorizers: the WebSocket $connect REQUEST authorizer and the REST TOKEN
authorizer. Both verify the same JWTs with realtime.auth.

API Gateway answers 401 when an authorizer raises exactly "Unauthorized", and 403 when
it returns a Deny policy."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerResponseWebSocket,
    APIGatewayAuthorizerTokenEvent,
    APIGatewayRouteArn,
)

from realtime.auth import TokenVerifier, bearer_token
from realtime.domain.access import connect_roles
from realtime.domain.models import Identity
from realtime.errors import RealtimeError
from realtime.observability import logger

Response = TypeVar("Response", APIGatewayAuthorizerResponse, APIGatewayAuthorizerResponseWebSocket)


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


def _response(kind: type[Response], identity: Identity, arn: APIGatewayRouteArn) -> Response:
    return kind(
        principal_id=identity.user_id,
        context=authorizer_context(identity),
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
    )


def authorize_websocket(event: dict[str, Any], verifier: TokenVerifier) -> dict[str, Any]:
    """$connect: the token is the `token` query parameter (browsers cannot set headers on a
    WebSocket), which is also the route's identity source."""
    request = APIGatewayAuthorizerRequestEvent(event)
    token = (request.query_string_parameters or {}).get("token")
    identity = _verify(verifier, token)
    response = _response(APIGatewayAuthorizerResponseWebSocket, identity, request.parsed_arn)
    settings = verifier.settings
    if identity.has_any_role(connect_roles(settings.connect_role, settings.reader_role)):
        response.allow_route("$connect")
    else:
        logger.info("connection forbidden", extra={"user_id": identity.user_id})
        response.deny_route("$connect")
    return response.asdict()


def authorize_rest(event: dict[str, Any], verifier: TokenVerifier) -> dict[str, Any]:
    """REST TOKEN authorizer on `Authorization: Bearer <JWT>`: authentication only. The
    policy covers every route of the stage (API Gateway caches it per token), so roles are
    checked per route by the function (realtime.domain.access), the same rule as on the
    WebSocket."""
    request = APIGatewayAuthorizerTokenEvent(event)
    identity = _verify(verifier, bearer_token(request.authorization_token))
    response = _response(APIGatewayAuthorizerResponse, identity, request.parsed_arn)
    response.allow_all_routes()
    return response.asdict()
