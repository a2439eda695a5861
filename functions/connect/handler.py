"""$connect: record the connection (the authorizer has already verified the token)."""

from realtime import bootstrap, tracing
from realtime.entrypoints.websocket import on_connect
from realtime.observability import logger, metrics

hub = bootstrap.hub()  # configuration is validated and the adapters built at cold start


@logger.inject_lambda_context(correlation_id_path="requestContext.connectionId")
@tracing.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return on_connect(event, hub)
