"""The fan-out queue (SQS FIFO): one message per slice of a queued fan-out.

MessageGroupId = group and shard: SQS hands a group's messages to one worker at a time, in
order, so the slices of one shard go out in seq order. MessageDeduplicationId = message
id and shard: a retried enqueue within SQS's 5-minute window is dropped, not delivered
twice."""

from __future__ import annotations

import random
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from realtime.domain.models import FanoutSlice
from realtime.errors import ServiceUnavailable

BATCH = 10  # SendMessageBatch's limit
ATTEMPTS = 5


def message_group_id(slice_: FanoutSlice) -> str:
    return f"{slice_.group}#{slice_.shard}"


class SqsFanoutQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def enqueue(self, slices: list[FanoutSlice]) -> None:
        for start in range(0, len(slices), BATCH):
            self._send({str(i): s for i, s in enumerate(slices[start : start + BATCH])})

    def _send(self, pending: dict[str, FanoutSlice]) -> None:
        for attempt in range(ATTEMPTS):
            entries = [
                {
                    "Id": entry_id,
                    "MessageBody": slice_.model_dump_json(),
                    "MessageGroupId": message_group_id(slice_),
                    "MessageDeduplicationId": f"{slice_.message_id}#{slice_.shard}",
                }
                for entry_id, slice_ in pending.items()
            ]
            try:
                response = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                if attempt + 1 == ATTEMPTS:
                    raise ServiceUnavailable("the fan-out queue is unavailable; retry later") from exc
            else:
                failed = response.get("Failed", [])
                senders_fault = [f for f in failed if f.get("SenderFault")]
                if senders_fault:  # a malformed entry: retrying cannot help
                    raise ServiceUnavailable(f"the fan-out queue refused a slice: {senders_fault[0].get('Code')}")
                pending = {f["Id"]: pending[f["Id"]] for f in failed}
                if not pending:
                    return
            time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))  # noqa: S311 - jitter, not crypto
        raise ServiceUnavailable("the fan-out queue kept throttling; retry later")
