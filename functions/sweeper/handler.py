"""Scheduled (every few minutes): remove connections past API Gateway's 2-hour limit whose
$disconnect never came, so counts and presence stay exact."""

from realtime.domain.hub import RealtimeHub
from realtime.observability import logger, metrics, tracer

hub = RealtimeHub()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return {"removed": hub.sweep_expired()}
