"""$disconnect: remove the connection and all its memberships (best-effort in AWS)."""

from realtime import bootstrap, tracing
from realtime.entrypoints.websocket import on_disconnect
from realtime.observability import logger, metrics

hub = bootstrap.hub()


@logger.inject_lambda_context(correlation_id_path="requestContext.connectionId")
@tracing.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return on_disconnect(event, hub)
