"""EventBridge ingestion (target of the rule matching detail-type INGEST_DETAIL_TYPE):
publish the event like REST `POST /publish`; refused events go to the dead-letter queue."""

from aws_lambda_powertools.logging import correlation_paths

from realtime import bootstrap, tracing
from realtime.domain.models import Appended, Envelope, PublishResult
from realtime.entrypoints.event_models import EventBridgeModel
from realtime.entrypoints.ingest import IngestDetail, on_event
from realtime.observability import logger, metrics

settings = bootstrap.ingest_settings()  # configuration is validated at cold start
# What every event uses (its data model aside, which depends on its type): at cold start.
hub = bootstrap.hub().prepare("publishing", models=(EventBridgeModel, IngestDetail, Envelope, Appended, PublishResult))
dead_letters = bootstrap.dead_letters()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracing.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return on_event(event, hub, dead_letters, settings, context)
