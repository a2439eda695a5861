"""Every WebSocket action route and $default: subscribe, publish, stats, ping, refresh…"""

from realtime import bootstrap
from realtime.entrypoints.websocket import on_message
from realtime.observability import logger, metrics, tracer

hub = bootstrap.hub()  # configuration is validated and the adapters built at cold start
verifier = bootstrap.verifier()  # for `refresh`


@logger.inject_lambda_context(correlation_id_path="requestContext.connectionId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return on_message(event, hub, verifier, context)
