"""Lambda TOKEN authorizer for the REST API (Authorization: Bearer <JWT>)."""

from aws_lambda_powertools.logging import correlation_paths

from realtime.auth import TokenVerifier
from realtime.config import auth_settings
from realtime.entrypoints.authorizers import authorize_rest
from realtime.observability import logger

verifier = TokenVerifier(auth_settings())  # configuration is validated at cold start


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: object) -> dict:
    return authorize_rest(event, verifier)
