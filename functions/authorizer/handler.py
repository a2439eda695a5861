"""Lambda REQUEST authorizer for the WebSocket $connect route (token in the query string)."""

# Neither pydantic, nor Powertools, nor boto3 on this path: it is every handshake's cold
# start (docs/architecture.md, "Cold start"; tests/unit/test_cold_start.py guards it).
from realtime.auth import TokenVerifier
from realtime.auth_config import auth_settings
from realtime.entrypoints.authorizers import authorize_websocket
from realtime.lean_logging import API_GATEWAY_REST, inject_lambda_context

verifier = TokenVerifier(auth_settings())  # configuration is validated at cold start


@inject_lambda_context(correlation_id_path=API_GATEWAY_REST)
def handler(event: dict, context: object) -> dict:
    return authorize_websocket(event, verifier)
