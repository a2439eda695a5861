"""Every WebSocket action route and $default: subscribe, publish, stats, ping, refresh…"""

from realtime import bootstrap, protocol, tracing
from realtime.adapters.dynamodb.connections import ConnectionItem
from realtime.domain.models import Connection
from realtime.entrypoints.gateway_events import MessageEvent
from realtime.entrypoints.websocket import on_message
from realtime.observability import logger, metrics

# Configuration validated, adapters built and what every action uses: at cold start.
hub = bootstrap.hub().prepare("connections", models=(MessageEvent, Connection, ConnectionItem))
protocol.action_adapter()
verifier = bootstrap.VerifierOnFirstUse()  # for `refresh`: settings validated now, PyJWT loaded at the first


@logger.inject_lambda_context(correlation_id_path="requestContext.connectionId")
@tracing.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return on_message(event, hub, verifier, context)
