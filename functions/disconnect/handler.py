"""$disconnect: remove the connection and all its memberships (best-effort in AWS)."""

from realtime import bootstrap, tracing
from realtime.adapters.dynamodb.connections import ConnectionItem
from realtime.domain.models import Connection, Removal
from realtime.entrypoints.connection_routes import on_disconnect
from realtime.entrypoints.gateway_events import DisconnectEvent
from realtime.observability import logger, metrics

# Configuration validated, adapters built and what every $disconnect uses: at cold start.
hub = bootstrap.hub().prepare("connections", models=(DisconnectEvent, Connection, ConnectionItem, Removal))


@logger.inject_lambda_context(correlation_id_path="requestContext.connectionId")
@tracing.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return on_disconnect(event, hub)
