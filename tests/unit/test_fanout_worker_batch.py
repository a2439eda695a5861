"""realtime.entrypoints.fanout_worker reports partial batch failures with a loop of its own
(the Powertools utility costs the worker's init a third): it must answer exactly what
`process_partial_response` with `SqsFifoPartialProcessor(skip_group_on_error=True)` answers."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from realtime.entrypoints.fanout_worker import process_fifo_batch


def record(message_id: str, body: str, group: str | None) -> dict[str, Any]:
    attributes = {"ApproximateReceiveCount": "1"} | ({"MessageGroupId": group} if group else {})
    return {
        "messageId": message_id,
        "receiptHandle": "r",
        "body": body,
        "attributes": attributes,
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fanout.fifo",
        "awsRegion": "us-east-1",
    }


def handler(handled: list[str]) -> Any:
    def handle(record: Any) -> None:  # the utility passes it by this name
        body = record["body"] if isinstance(record, dict) else record.body
        handled.append(body)
        if body.startswith("bad"):
            raise ValueError(f"cannot deliver {body}")

    return handle


BATCHES = {
    "all delivered": [record("1", "a", "g#0"), record("2", "b", "g#1")],
    "one poison": [record("1", "a", "g#0"), record("2", "bad", "g#1"), record("3", "c", "g#2")],
    "the rest of a failed group is skipped": [
        record("1", "bad1", "g#0"),
        record("2", "a", "g#1"),
        record("3", "b", "g#0"),
        record("4", "c", "g#1"),
    ],
    "no group id": [record("1", "bad", None), record("2", "a", None)],
    "every record failed or skipped": [record("1", "bad1", "g#0"), record("2", "x", "g#0")],
    "every record failed": [record("1", "bad1", "g#0"), record("2", "bad2", "g#1")],
}


@pytest.mark.parametrize("name", BATCHES)
def test_the_worker_answers_what_the_powertools_utility_answers(name: str) -> None:
    event = {"Records": BATCHES[name]}
    theirs_handled: list[str] = []
    ours_handled: list[str] = []
    try:
        theirs: Any = process_partial_response(
            event=event,
            record_handler=handler(theirs_handled),
            processor=SqsFifoPartialProcessor(skip_group_on_error=True),
        )
    except BatchProcessingError as exc:
        theirs = ("raised", str(exc).splitlines()[0], len(exc.child_exceptions))
    try:
        ours: Any = process_fifo_batch(event, handler(ours_handled))
    except BatchProcessingError as exc:
        ours = ("raised", str(exc).splitlines()[0], len(exc.child_exceptions))
    assert ours == theirs
    assert ours_handled == theirs_handled
