"""Lambda REQUEST authorizer for the WebSocket $connect route (token in the query string)."""

from aws_lambda_powertools.logging import correlation_paths

from realtime.auth import TokenVerifier
from realtime.config import auth_settings
from realtime.entrypoints.authorizers import authorize_websocket
from realtime.observability import logger

verifier = TokenVerifier(auth_settings())  # configuration is validated at cold start


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context: object) -> dict:
    return authorize_websocket(event, verifier)
