"""Every WebSocket action route and $default: subscribe, publish, stats, ping, refresh…"""

from realtime.auth import TokenVerifier
from realtime.config import auth_settings
from realtime.domain.hub import RealtimeHub
from realtime.entrypoints.websocket import on_message
from realtime.observability import logger, metrics, tracer

hub = RealtimeHub()  # configuration is validated at cold start
verifier = TokenVerifier(auth_settings())  # for `refresh`


@logger.inject_lambda_context(correlation_id_path="requestContext.connectionId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return on_message(event, hub, verifier, context)
