"""The fan-out worker: SQS FIFO batches of slices → `SliceDelivery.deliver`.

Partial failures are reported as Powertools' FIFO batch processor reports them
(`SqsFifoPartialProcessor(skip_group_on_error=True)` with `process_partial_response`): a
failed slice and the ones after it in the same message group (shard) go back to the queue,
so a shard's slices are never delivered out of order; other shards in the batch carry on;
when every record fails, Powertools' BatchProcessingError is raised (so the whole batch is
retried). A slice that keeps failing (or is not a valid slice at all) ends in the
dead-letter queue after the queue's maxReceiveCount, where an alarm fires.

Why not the utility itself: importing it builds every one of Powertools' parser models when
pydantic is loaded (for its type hints), plus asyncio and every event data class, about a
third of this function's init for a loop of a few lines (`python -m bench coldstart`).
tests/unit/test_fanout_worker_batch.py holds this loop to the utility's answers."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any

from realtime.bootstrap import Hub
from realtime.domain.models import FanoutSlice
from realtime.observability import logger

_debug = logging.getLogger(__name__)

Record = dict[str, Any]
ExceptionInfo = tuple[type[BaseException] | None, BaseException | None, TracebackType | None]


def slice_handler(hub: Hub) -> Callable[[Record], None]:
    def handle(record: Record) -> None:
        work = FanoutSlice.model_validate_json(record["body"])  # a poison body fails here, and only here
        logger.append_keys(message_id=work.message_id, group=work.group, shard=work.shard)
        hub.slices.deliver(work)

    return handle


def process(hub: Hub, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return process_fifo_batch(event, slice_handler(hub))


def process_fifo_batch(event: dict[str, Any], handle: Callable[[Record], None]) -> dict[str, Any]:
    """`process_partial_response(event, handle, SqsFifoPartialProcessor(skip_group_on_error=True))`:
    `{"batchItemFailures": [{"itemIdentifier": <messageId>}, …]}` for the records that failed
    and the later ones of their message groups; raises BatchProcessingError if all failed."""
    records: list[Record] = event["Records"]
    failed_groups: set[str] = set()
    failed: list[Record] = []
    exceptions: list[ExceptionInfo | None] = []  # None: skipped, a previous record of its group failed
    for record in records:
        group = record.get("attributes", {}).get("MessageGroupId")
        if group in failed_groups:
            exceptions.append(None)
        else:
            try:
                handle(record)
                continue
            except Exception as exc:
                _debug.debug("Record processing exception: %s:%s", type(exc), exc)
                exceptions.append(sys.exc_info())
        failed.append(record)
        if group:
            failed_groups.add(group)
    if failed and len(failed) == len(records):
        from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

        skipped = SqsFifoPartialProcessor.group_circuit_breaker_exc
        raise BatchProcessingError(
            msg=f"All records failed processing. {len(exceptions)} individual errors logged separately below.",
            child_exceptions=[skipped if info is None else info for info in exceptions],
        )
    return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in failed]}
