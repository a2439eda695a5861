"""SQS adapter: the events ingestion refuses go to its dead-letter queue, whole, with
the reason, so nothing is ever dropped silently. A failed send is ServiceUnavailable:
the invocation fails and Lambda retries it (then its on-failure destination takes it)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from realtime.adapters.lazy_client import ClientOnFirstUse
from realtime.config import IngestSettings
from realtime.errors import ServiceUnavailable


class DeadLetter(BaseModel):
    """The message body: why the event was refused, and the event as it arrived."""

    model_config = ConfigDict(defer_build=True)

    reason: str = Field(description="the error code, e.g. ValidationError, UnknownGroup")
    message: str
    errors: list[dict[str, Any]] = Field(default_factory=list, description="offending fields ({loc, msg, type})")
    event: Any = Field(description="the original EventBridge event")

    def body(self) -> str:
        return self.model_dump_json()

    def attributes(self) -> dict[str, dict[str, str]]:
        """SQS message attributes, so a consumer can filter without parsing the body."""
        attributes = {"reason": self.reason}
        if isinstance(self.event, dict):
            for name, key in (("source", "source"), ("detailType", "detail-type"), ("eventId", "id")):
                value = self.event.get(key)
                if isinstance(value, str) and value:
                    attributes[name] = value[:256]
        return {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()}


class SqsDeadLetterQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send_dead_letter(self, letter: DeadLetter) -> str:
        """Send one dead letter; return its SQS message id."""
        try:
            response = self._client.send_message(
                QueueUrl=self._queue_url, MessageBody=letter.body(), MessageAttributes=letter.attributes()
            )
        except (ClientError, BotoCoreError) as exc:
            raise ServiceUnavailable(f"the dead-letter queue is unavailable: {exc}") from exc
        return str(response.get("MessageId", ""))


def dead_letter_queue(settings: IngestSettings, client: Any = None) -> SqsDeadLetterQueue:
    """The ingestion's dead-letter queue (INGEST_DEAD_LETTER_QUEUE_URL; its endpoint from
    AWS_ENDPOINT_URL_SQS locally)."""
    if client is None:
        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
        # Built at the first refused event: most invocations publish.
        client = ClientOnFirstUse(lambda: boto3.client("sqs", config=config))
    return SqsDeadLetterQueue(client, str(settings.dead_letter_queue_url))
