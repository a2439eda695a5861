"""Scheduled (every few minutes): remove connections past API Gateway's 2-hour limit whose
$disconnect never came, and close those whose token expired without a refresh, so counts
and presence stay exact."""

from realtime import bootstrap, tracing
from realtime.observability import logger, metrics

hub = bootstrap.hub().prepare("connections")


@logger.inject_lambda_context
@tracing.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return {"removed": hub.connections.sweep()}
