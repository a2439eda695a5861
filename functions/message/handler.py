"""Every WebSocket action route and $default: subscribe, publish, stats, ping, refresh…"""

from realtime import bootstrap, tracing
from realtime.entrypoints.websocket import on_message
from realtime.observability import logger, metrics

hub = bootstrap.hub()  # configuration is validated and the adapters built at cold start
verifier = bootstrap.verifier()  # for `refresh`


@logger.inject_lambda_context(correlation_id_path="requestContext.connectionId")
@tracing.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return on_message(event, hub, verifier, context)
