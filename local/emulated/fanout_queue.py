"""The fan-out queue for the local stack: an SQS FIFO queue (and its dead-letter queue) in
moto, and what AWS's event source mapping does with it: receive batches of up to 10,
invoke the `fanout_worker` function with an SQS event, delete what succeeded, and leave
the reported failures to come back (after `maxReceiveCount` receives moto moves them to
the dead-letter queue, as SQS does). moto keeps a FIFO message group locked while one of
its messages is in flight, so a shard's slices go out in order here too.

Polling is short (moto serves one request at a time, so a long poll would stall
DynamoDB): immediately again while there is work; when idle, it waits until a SendMessage
has reached moto (`notify`), as SQS answers a long poll once a message arrives, or
IDLE_POLL at most. Waking on the send rather than polling every 200 ms took up to 200 ms
(100 on average) off every queued publish's delivery, and idle polls off moto's one thread."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import Any

import boto3

from local.emulated.lambdas import LambdaRuntime
from local.runner.settings import LOCAL_ACCOUNT_ID, LOCAL_FANOUT_DEAD_LETTER_QUEUE, LOCAL_FANOUT_QUEUE, LOCAL_REGION

logger = logging.getLogger("local.emulated.fanout_queue")

QUEUE_NAME = LOCAL_FANOUT_QUEUE
DEAD_LETTER_QUEUE_NAME = LOCAL_FANOUT_DEAD_LETTER_QUEUE
MAX_RECEIVE_COUNT = 5
# As deployed (6x the worker's 120 s timeout): a slice must never become visible again
# while a worker still delivers it, or the next message of its shard could overtake it.
# Failures are made visible again at once by `_settle`, so retries stay quick locally.
VISIBILITY_TIMEOUT_SECONDS = 720
RETRY_AFTER_SECONDS = 1
FIRST_IDLE_POLL_SECONDS = 0.01
IDLE_POLL_SECONDS = 1.0  # a safety net: every send wakes the poller at once
BATCH_SIZE = 10


def queue_url(endpoint: str, name: str = QUEUE_NAME) -> str:
    """moto's queue URLs: <endpoint>/<account>/<name>."""
    return f"{endpoint}/{LOCAL_ACCOUNT_ID}/{name}"


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What Lambda's SQS event source mapping passes to the function, from ReceiveMessage's
    messages (received with AttributeNames=["All"])."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m["Body"].encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": LOCAL_REGION,
            }
            for m in messages
        ]
    }


class LocalFanoutQueue:
    def __init__(self, endpoint: str, runtime: LambdaRuntime, *, workers: int = 4) -> None:
        self._endpoint = endpoint
        self._runtime = runtime
        self._slots = asyncio.Semaphore(workers)  # concurrent worker invocations
        self._sqs: Any = None
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sent = asyncio.Event()  # set by `notify`: a message may be waiting
        self.url = queue_url(endpoint)
        self.dead_letter_url = queue_url(endpoint, DEAD_LETTER_QUEUE_NAME)

    def client(self) -> Any:
        if self._sqs is None:
            # moto accepts any credentials; these are placeholders, not secrets.
            self._sqs = boto3.client(
                "sqs",
                endpoint_url=self._endpoint,
                region_name=LOCAL_REGION,
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106
            )
        return self._sqs

    def create(self) -> None:
        """The queues as CDK defines them (FIFO, redrive to the DLQ), before any function starts."""
        sqs = self.client()
        fifo = {"FifoQueue": "true", "DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
        dlq_url = sqs.create_queue(QueueName=DEAD_LETTER_QUEUE_NAME, Attributes=fifo)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{MAX_RECEIVE_COUNT}"}}'
        attributes = {**fifo, "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS), "RedrivePolicy": redrive}
        self.url = sqs.create_queue(QueueName=QUEUE_NAME, Attributes=attributes)["QueueUrl"]
        self.dead_letter_url = dlq_url
        self._arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    # -- the event source mapping --------------------------------------------------------

    def start(self) -> None:
        """Start polling; call on the server's event loop."""
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._poll(), name="fanout-queue")

    def notify(self) -> None:
        """A message was sent to a queue: poll now. Safe from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._sent.set)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=30)

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        idle = 0.0
        while True:
            await self._slots.acquire()
            self._sent.clear()  # a send from now on wakes the wait below
            try:
                messages = await loop.run_in_executor(None, self._receive)
            except Exception:
                logger.exception("local fan-out queue: receive failed")
                messages = []
            if not messages:
                self._slots.release()
                idle = min(IDLE_POLL_SECONDS, idle * 2 or FIRST_IDLE_POLL_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._sent.wait(), idle)
                continue
            idle = 0.0
            task = loop.create_task(self._invoke(messages))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    def _receive(self) -> list[dict[str, Any]]:
        response = self.client().receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=BATCH_SIZE, AttributeNames=["All"], WaitTimeSeconds=0
        )
        return list(response.get("Messages", []))

    async def _invoke(self, messages: list[dict[str, Any]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            try:
                result = await self._runtime.invoke("fanout_worker", sqs_event(messages, self._arn))
                failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
            except Exception:
                logger.exception("local fan-out queue: the worker failed; the batch will be retried")
                failed = {message["MessageId"] for message in messages}
            await loop.run_in_executor(None, self._settle, messages, failed)
        finally:
            self._slots.release()
            self._sent.set()  # the next slice of a FIFO group may be receivable now

    def _settle(self, messages: list[dict[str, Any]], failed: set[str]) -> None:
        """Delete what succeeded; make the failures visible again soon (SQS would wait for
        the visibility timeout; locally a second is enough to show the retry)."""
        sqs = self.client()
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        retry = [m for m in messages if m["MessageId"] in failed]
        if retry:
            sqs.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": RETRY_AFTER_SECONDS}
                    for i, m in enumerate(retry)
                ],
            )

    # -- inspection (tests, make dev) -------------------------------------------------------

    def depth(self) -> dict[str, int]:
        """Messages waiting and in flight in the queue, and in its dead-letter queue."""
        sqs = self.client()
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        main = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)["Attributes"]
        dead = sqs.get_queue_attributes(QueueUrl=self.dead_letter_url, AttributeNames=names[:1])["Attributes"]
        return {
            "visible": int(main.get(names[0], 0)),
            "inFlight": int(main.get(names[1], 0)),
            "deadLetters": int(dead.get(names[0], 0)),
        }
