"""The local event source mapping (local/emulated/fanout_queue.py) picks a slice up as soon
as it is sent, as SQS answers a long poll once a message arrives, rather than at its next
idle poll."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from local.emulated import fanout_queue
from local.emulated.dynamodb import LocalDynamoDB
from local.emulated.fanout_queue import LocalFanoutQueue

pytestmark = pytest.mark.e2e


class RecordingRuntime:
    """Stands in for the Lambda runtime: records each worker invocation."""

    def __init__(self) -> None:
        self.invoked: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def invoke(self, name: str, event: dict[str, Any]) -> dict[str, Any]:
        await self.invoked.put(event)
        return {"batchItemFailures": []}


@pytest.fixture
def moto_server() -> Iterator[LocalDynamoDB]:
    server = LocalDynamoDB()
    server.start()
    yield server
    server.stop()


def test_a_sent_slice_wakes_the_idle_poller(moto_server: LocalDynamoDB, monkeypatch: pytest.MonkeyPatch) -> None:
    # An idle poll this long would outlast the wait below: only the wake-up can deliver.
    monkeypatch.setattr(fanout_queue, "FIRST_IDLE_POLL_SECONDS", 600.0)
    monkeypatch.setattr(fanout_queue, "IDLE_POLL_SECONDS", 600.0)

    async def scenario() -> dict[str, Any]:
        runtime = RecordingRuntime()
        queue = LocalFanoutQueue(moto_server.endpoint, runtime, workers=1)  # type: ignore[arg-type]
        queue.create()
        moto_server.on_sqs_send(queue.notify)
        queue.start()
        try:
            await asyncio.sleep(1.0)  # the poller has found the queue empty and gone idle
            send = {"QueueUrl": queue.url, "MessageBody": "{}", "MessageGroupId": "g", "MessageDeduplicationId": "1"}
            await asyncio.get_running_loop().run_in_executor(None, lambda: queue.client().send_message(**send))
            return await asyncio.wait_for(runtime.invoked.get(), timeout=30)
        finally:
            await queue.stop()

    event = asyncio.run(scenario())
    assert [record["body"] for record in event["Records"]] == ["{}"]
