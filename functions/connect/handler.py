"""$connect: record the connection (the authorizer has already verified the token)."""

from realtime import bootstrap, tracing
from realtime.adapters.dynamodb.connections import ConnectionItem
from realtime.domain.models import Connection, GroupState
from realtime.entrypoints.connection_routes import on_connect
from realtime.entrypoints.gateway_events import ConnectEvent
from realtime.observability import logger, metrics

# Configuration validated, adapters built and what every $connect uses: at cold start.
hub = bootstrap.hub().prepare("connections", models=(ConnectEvent, Connection, ConnectionItem, GroupState))


@logger.inject_lambda_context(correlation_id_path="requestContext.connectionId")
@tracing.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return on_connect(event, hub)
