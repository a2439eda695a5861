"""The REST API for backend services (/api/admin/realtime/*)."""

from aws_lambda_powertools.logging import correlation_paths

from realtime import bootstrap, tracing
from realtime.entrypoints.rest import handle
from realtime.observability import logger, metrics

bootstrap.hub(), bootstrap.verifier()  # configuration validated, adapters built: at cold start


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracing.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return handle(event, context)  # type: ignore[arg-type]
