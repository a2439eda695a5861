"""The fan-out worker: SQS FIFO batches of slices → `SliceDelivery.deliver`.

Powertools' FIFO batch processor reports partial failures: a failed slice and the ones
after it in the same message group (shard) go back to the queue, so a shard's slices are
never delivered out of order; other shards in the batch carry on. A slice that keeps
failing (or is not a valid slice at all) ends in the dead-letter queue after the
queue's maxReceiveCount, where an alarm fires."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from realtime.bootstrap import Hub
from realtime.domain.models import FanoutSlice
from realtime.observability import logger


def slice_handler(hub: Hub) -> Any:
    def handle(record: SQSRecord) -> None:
        work = FanoutSlice.model_validate_json(record.body)  # a poison body fails here, and only here
        logger.append_keys(message_id=work.message_id, group=work.group, shard=work.shard)
        hub.slices.deliver(work)

    return handle


def process(hub: Hub, event: dict[str, Any], context: Any) -> dict[str, Any]:
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    response = process_partial_response(
        event=event, record_handler=slice_handler(hub), processor=processor, context=context
    )
    return dict(response)
