"""Fed by the fan-out queue (SQS FIFO): delivers queued messages to one membership shard
per record, reporting partial batch failures."""

from realtime import bootstrap, tracing
from realtime.domain.models import FanoutResult, FanoutSlice, SliceProgress
from realtime.entrypoints.fanout_worker import process
from realtime.observability import logger, metrics

hub = bootstrap.hub().prepare("slices", models=(FanoutSlice, SliceProgress, FanoutResult))


@logger.inject_lambda_context
@tracing.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: object) -> dict:
    return process(hub, event, context)
