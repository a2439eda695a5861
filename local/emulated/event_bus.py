"""EventBridge for the local stack: the bus, its ingestion rule and the dead-letter queue.

- `POST /_aws/events` serves EventBridge's PutEvents on the wire (AWS JSON 1.1,
  `X-Amz-Target: AWSEvents.PutEvents`), so the functions' boto3 `events` client
  (AWS_ENDPOINT_URL_EVENTBRIDGE) and `aws events put-events --endpoint-url` work unchanged.
- Each accepted entry becomes an event of EventBridge's shape, is kept in a ring buffer
  (`GET /_local/events?after=<index>&detailType=<…>`) and logged as one line
  (`local bus: <detail-type> <detail>`).
- The ingestion rule, as infra/event_bus.py deploys it: its pattern (the same data,
  infra/event_patterns.py) is matched by moto's EventBridge pattern engine, and a match
  invokes `ingest` asynchronously; a failing
  invocation is retried twice (Lambda's async retries, faster here), then its on-failure
  record goes to the dead-letter queue, like the deployed on-failure destination.
- The dead-letter queue is an SQS queue in moto (`GET /_local/dead-letters` lists it).
- `POST /_local/events` with `{"source", "detail-type", "detail"}` puts one event, for
  backends that would rather not sign AWS requests.
- The `/_local/` routes answer admins only (an admin bearer token: local/runner/app.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import traceback
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import boto3
from moto.events.models import EventPattern
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from infra.event_patterns import ingest_pattern
from local.emulated.lambdas import LambdaRuntime
from local.emulated.latency import LatencyModel, Service
from local.runner.settings import LOCAL_REGION

# A child of the access log: printed where it is, silenced by --quiet like it.
logger = logging.getLogger("local.access.bus")

PUT_EVENTS_TARGET = "AWSEvents.PutEvents"
# PutEvents' limits, as AWS applies them (the functions' adapter respects the same).
MAX_ENTRIES_PER_REQUEST = 10
MAX_REQUEST_BYTES = 256 * 1024
INGEST_FUNCTION = "ingest"
DEFAULT_CAPACITY = 1000
# Lambda retries a failed asynchronous invocation twice (1 and 2 minutes later in AWS).
ASYNC_RETRY_DELAYS_SECONDS = (0.2, 0.5)
_LOG_DETAIL_CHARS = 500
_JSON_11 = "application/x-amz-json-1.1"


@dataclass(frozen=True)
class BusSettings:
    """What the bus needs from the functions' environment (local/runner/settings.py)."""

    bus_name: str
    ingest_detail_type: str
    lifecycle_source: str
    dead_letter_queue_url: str
    sqs_endpoint: str
    account_id: str
    region: str = LOCAL_REGION

    @classmethod
    def from_environment(cls, environment: Mapping[str, str], account_id: str) -> BusSettings:
        from realtime.config import IngestSettings

        ingest = IngestSettings.from_env(environment)
        return cls(
            bus_name=environment["EVENT_BUS_NAME"],
            ingest_detail_type=ingest.detail_type,
            lifecycle_source=environment.get("LIFECYCLE_SOURCE") or "realtime.hub",
            dead_letter_queue_url=str(ingest.dead_letter_queue_url),
            sqs_endpoint=environment["AWS_ENDPOINT_URL_SQS"],
            account_id=account_id,
            region=environment.get("AWS_REGION") or LOCAL_REGION,
        )

    @property
    def bus_arn(self) -> str:
        return f"arn:aws:events:{self.region}:{self.account_id}:event-bus/{self.bus_name}"

    @property
    def rule_arn(self) -> str:
        return f"arn:aws:events:{self.region}:{self.account_id}:rule/{self.bus_name}/ingest"

    @property
    def queue_name(self) -> str:
        return self.dead_letter_queue_url.rstrip("/").rpartition("/")[2]


class EntryRefused(Exception):
    """One PutEvents entry refused, with EventBridge's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class LocalEventBus:
    def __init__(self, settings: BusSettings, runtime: LambdaRuntime, *, capacity: int = DEFAULT_CAPACITY) -> None:
        self.settings = settings
        self._runtime = runtime
        self._events: deque[tuple[int, dict[str, Any]]] = deque(maxlen=capacity)
        self._count = 0
        self._lock = threading.Lock()  # read from test threads, written on the event loop
        self._deliveries: set[asyncio.Task[None]] = set()
        self._sqs: Any = None
        self.latency = LatencyModel()
        # moto's EventBridge would deliver to a Lambda target only through Docker: its
        # pattern engine decides, and the delivery below does what the target would.
        self._ingest_rule = EventPattern.load(
            json.dumps(ingest_pattern(settings.ingest_detail_type, settings.lifecycle_source))
        )

    # -- the dead-letter queue (moto) ---------------------------------------------------

    def sqs(self) -> Any:
        if self._sqs is None:
            # moto accepts any credentials; these are placeholders, not secrets.
            self._sqs = boto3.client(
                "sqs",
                endpoint_url=self.settings.sqs_endpoint,
                region_name=self.settings.region,
                aws_access_key_id="local",
                aws_secret_access_key="local",  # noqa: S106
            )
        return self._sqs

    def create_dead_letter_queue(self) -> None:
        url = self.sqs().create_queue(QueueName=self.settings.queue_name)["QueueUrl"]
        if url != self.settings.dead_letter_queue_url:
            logger.warning(
                "local bus: the dead-letter queue is %s, the functions use %s", url, self.settings.dead_letter_queue_url
            )

    def dead_letters(self) -> list[dict[str, Any]]:
        """Every message in the dead-letter queue, left there: {"messageId", "body",
        "attributes"} (body parsed when it is JSON). Blocking (boto3)."""
        sqs, url = self.sqs(), self.settings.dead_letter_queue_url
        found: list[dict[str, Any]] = []
        handles: list[str] = []
        try:
            while True:  # hide each one while reading on, so every message is seen once
                messages = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageAttributeNames=["All"]
                ).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    handles.append(message["ReceiptHandle"])
                    found.append(_dead_letter(message))
        finally:
            for start in range(0, len(handles), 10):  # …then show them again
                sqs.change_message_visibility_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                        for n, handle in enumerate(handles[start : start + 10])
                    ],
                )
        return found

    # -- the bus --------------------------------------------------------------------------

    def events(self, *, after: int = 0, detail_type: str | None = None) -> list[tuple[int, dict[str, Any]]]:
        """(index, event) of the events kept, oldest first; indexes start at 1."""
        with self._lock:
            kept = list(self._events)
        return [
            (index, event)
            for index, event in kept
            if index > after and (detail_type is None or event["detail-type"] == detail_type)
        ]

    def put(self, entry: Any) -> dict[str, Any]:
        """One PutEvents entry → its result entry ({"EventId"} or {"ErrorCode", "ErrorMessage"})."""
        try:
            event = self._event(entry)
        except EntryRefused as refused:
            return {"ErrorCode": refused.code, "ErrorMessage": refused.message}
        with self._lock:
            self._count += 1
            self._events.append((self._count, event))
        logger.info(
            "local bus: %s %s",
            event["detail-type"],
            _truncate(json.dumps(event["detail"], separators=(",", ":")), _LOG_DETAIL_CHARS),
        )
        if self._matches_ingest_rule(event):
            task = asyncio.get_running_loop().create_task(self._deliver(event))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
        return {"EventId": event["id"]}

    def _event(self, entry: Any) -> dict[str, Any]:
        if not isinstance(entry, dict):
            raise EntryRefused("InvalidArgument", "An entry must be an object.")
        missing = [name for name in ("Source", "DetailType", "Detail") if not entry.get(name)]
        if missing:
            raise EntryRefused("InvalidArgument", f"Parameter(s) {', '.join(missing)} must be specified.")
        source, detail_type, raw_detail = entry["Source"], entry["DetailType"], entry["Detail"]
        if not all(isinstance(value, str) for value in (source, detail_type, raw_detail)):
            raise EntryRefused("InvalidArgument", "Source, DetailType and Detail must be strings.")
        bus = entry.get("EventBusName") or "default"
        if bus not in (self.settings.bus_name, self.settings.bus_arn):
            raise EntryRefused(
                "ResourceNotFoundException",
                f"Event bus {bus} does not exist. The local stack's bus is {self.settings.bus_name!r} "
                "(EventBusName is required: the default bus has no rules here, as in the deployed stack).",
            )
        if source.startswith("aws."):
            raise EntryRefused("NotAuthorizedForSourceException", "Not authorized for the source.")
        if entry_size(entry) > MAX_REQUEST_BYTES:
            raise EntryRefused("InvalidArgument", f"The entry exceeds {MAX_REQUEST_BYTES} bytes.")
        try:
            detail = json.loads(raw_detail)
        except ValueError:
            detail = None
        if not isinstance(detail, dict):
            raise EntryRefused("MalformedDetail", "Detail is malformed.")
        resources = entry.get("Resources") or []
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            raise EntryRefused("InvalidArgument", "Resources must be a list of strings.")
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": source,
            "account": self.settings.account_id,
            "time": _event_time(entry.get("Time")),
            "region": self.settings.region,
            "resources": resources,
            "detail": detail,
        }

    def _matches_ingest_rule(self, event: dict[str, Any]) -> bool:
        """Whether the deployed ingestion rule (infra/event_patterns.py) matches the event."""
        return bool(self._ingest_rule.matches_event(cast(Any, event)))

    async def _deliver(self, event: dict[str, Any]) -> None:
        """Invoke `ingest` asynchronously, as the rule's target: retried twice, then the
        on-failure record goes to the dead-letter queue. Never raises."""
        attempts = len(ASYNC_RETRY_DELAYS_SECONDS) + 1
        error: BaseException | None = None
        for attempt in range(1, attempts + 1):
            try:
                result = await self._runtime.invoke(INGEST_FUNCTION, event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the function failed: Lambda would retry it
                error = exc
                logger.warning(
                    "local bus: ingest of %s failed (attempt %d of %d): %r", event["id"], attempt, attempts, exc
                )
                if attempt < attempts:
                    await asyncio.sleep(ASYNC_RETRY_DELAYS_SECONDS[attempt - 1])
                continue
            if isinstance(result, dict) and result.get("status") == "rejected":
                logger.warning(
                    "local bus: ingest refused %s: %s (in the dead-letter queue)", event["id"], result.get("reason")
                )
            return
        assert error is not None
        try:
            await asyncio.to_thread(self._send_failure_record, event, error, attempts)
        except Exception:
            logger.exception("local bus: the on-failure record of %s could not be queued", event["id"])

    def _send_failure_record(self, event: dict[str, Any], error: BaseException, attempts: int) -> None:
        """What Lambda's on-failure destination (SQS) receives after the last retry."""
        record = {
            "version": "1.0",
            "timestamp": _iso(datetime.now(UTC), milliseconds=True),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self.settings.region}:{self.settings.account_id}"
                f":function:realtime-local-{INGEST_FUNCTION}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_exception(error)[-5:],
            },
        }
        self.sqs().send_message(QueueUrl=self.settings.dead_letter_queue_url, MessageBody=json.dumps(record))
        logger.warning("local bus: ingest of %s failed %d times: sent to the dead-letter queue", event["id"], attempts)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the ingest deliveries in flight."""
        if self._deliveries:
            await asyncio.wait(set(self._deliveries), timeout=timeout)

    # -- HTTP -----------------------------------------------------------------------------

    async def handle_put_events(self, request: Request) -> Response:
        """EventBridge's PutEvents (AWS JSON 1.1). SigV4 headers are accepted and ignored."""
        await self.latency.wait(Service.EVENTBRIDGE)
        target = request.headers.get("x-amz-target", "")
        if target != PUT_EVENTS_TARGET:
            return _aws_error(400, "UnknownOperationException", f"the local bus serves PutEvents only, not {target!r}")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _aws_error(400, "SerializationException", "the request body is not JSON")
        entries = body.get("Entries") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_ENTRIES_PER_REQUEST:
            return _aws_error(
                400,
                "ValidationException",
                f"1 validation error detected: Value at 'entries' failed to satisfy constraint: "
                f"Member must have length between 1 and {MAX_ENTRIES_PER_REQUEST}",
            )
        if sum(entry_size(e) for e in entries if isinstance(e, dict)) > MAX_REQUEST_BYTES:
            return _aws_error(400, "ValidationException", "Total size of the entries in the request is over the limit.")
        results = [self.put(entry) for entry in entries]
        failed = sum(1 for result in results if "ErrorCode" in result)
        return _aws_json(200, {"FailedEntryCount": failed, "Entries": results})

    async def handle_local_events(self, request: Request) -> Response:
        """GET: the events kept, as [{"index", "event"}] (`after`, `detailType` filter them).
        POST {"source", "detail-type", "detail"}: put one event on the bus."""
        if request.method == "POST":
            return await self._post_event(request)
        try:
            after = int(request.query_params.get("after") or 0)
        except ValueError:
            return JSONResponse({"message": "after must be an integer"}, status_code=400)
        detail_type = request.query_params.get("detailType") or None
        return JSONResponse(
            [{"index": index, "event": event} for index, event in self.events(after=after, detail_type=detail_type)]
        )

    async def _post_event(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse({"message": 'expected {"source", "detail-type", "detail"}'}, status_code=400)
        detail = body.get("detail")
        entry = {
            "Source": body.get("source"),
            "DetailType": body.get("detail-type") or body.get("detailType"),
            "Detail": json.dumps(detail) if isinstance(detail, dict) else detail,
            "EventBusName": body.get("eventBusName") or self.settings.bus_name,
            "Resources": body.get("resources") or [],
        }
        result = self.put(entry)
        return JSONResponse(result, status_code=400 if "ErrorCode" in result else 200)

    async def handle_dead_letters(self, _request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(self.dead_letters))


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it: Time (14 bytes), Source, DetailType,
    Detail and Resources."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        value = entry.get(name)
        size += len(value.encode()) if isinstance(value, str) else 0
    return size + sum(len(r.encode()) for r in entry.get("Resources") or () if isinstance(r, str))


def _dead_letter(message: dict[str, Any]) -> dict[str, Any]:
    try:
        body: Any = json.loads(message["Body"])
    except ValueError:
        body = message["Body"]
    attributes = {
        name: value.get("StringValue", value.get("BinaryValue"))
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {"messageId": message["MessageId"], "body": body, "attributes": attributes}


def _event_time(value: Any) -> str:
    """PutEvents' Time: epoch seconds from boto3 (JSON protocol), or ISO-8601; now by default."""
    if isinstance(value, int | float):
        return _iso(datetime.fromtimestamp(value, UTC))
    if isinstance(value, str):
        try:
            return _iso(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    return _iso(datetime.now(UTC))


def _iso(moment: datetime, *, milliseconds: bool = False) -> str:
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    if milliseconds:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _aws_json(status: int, body: dict[str, Any]) -> Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4())}
    return Response(json.dumps(body), status_code=status, media_type=_JSON_11, headers=headers)


def _aws_error(status: int, code: str, message: str) -> Response:
    return _aws_json(status, {"__type": code, "message": message})
