"""The REST API for backend services (/api/admin/realtime/*)."""

from aws_lambda_powertools.logging import correlation_paths

from realtime.config import auth_settings, hub_settings
from realtime.entrypoints.rest import handle
from realtime.observability import logger, metrics, tracer

hub_settings(), auth_settings()  # validate the configuration at cold start


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return handle(event, context)  # type: ignore[arg-type]
