"""EventBridge adapter: the lifecycle events go to the bus with PutEvents.

Best effort by contract (the LifecycleNotifier port): a notification that cannot be put
after a few attempts is logged and counted (`LifecycleEventsFailed`), never raised, so a
connect, a disconnect or a delivery never fails because the bus is unavailable.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from realtime.adapters.clock import SystemClock
from realtime.adapters.lazy_client import ClientOnFirstUse
from realtime.config import HubSettings
from realtime.domain.lifecycle import LifecycleEvent
from realtime.domain.ports import Clock
from realtime.observability import MetricUnit, logger, metrics

# PutEvents' limits: 10 entries and 256 KB (entries measured as AWS documents) per request.
MAX_ENTRIES_PER_REQUEST = 10
MAX_REQUEST_BYTES = 256 * 1024
# What AWS adds to an entry's size for its Time field.
_TIME_BYTES = 14
# Errors worth another attempt: throttling and AWS's own failures. Anything else (access
# denied, no such bus, malformed detail) fails the same way every time.
RETRYABLE_ERROR_CODES = frozenset(
    {"ThrottlingException", "InternalFailure", "InternalException", "ServiceUnavailable", "ServiceUnavailableException"}
)
DEFAULT_MAX_ATTEMPTS = 3
BACKOFF_BASE_SECONDS = 0.05
BACKOFF_CAP_SECONDS = 0.5

Entry = dict[str, Any]


@dataclass
class Attempt:
    """What one PutEvents request left to do: entries to try again (and the last error
    that said so), and entries refused for good, by (error code, message)."""

    retry: list[Entry] = field(default_factory=list)
    error: tuple[str, str] = ("", "")
    refused: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)


class EventBridgeNotifier:
    """Puts each lifecycle event as one entry: Source = `source`, DetailType = the event's
    DETAIL_TYPE, Detail = its camelCase JSON, Time = its `at` when it has one."""

    def __init__(
        self,
        client: Any,
        bus_name: str,
        source: str,
        *,
        clock: Clock | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self._client = client
        self._bus_name = bus_name
        self._source = source
        self._clock = clock or SystemClock()
        self._max_attempts = max(1, max_attempts)

    def notify(self, events: Sequence[LifecycleEvent]) -> None:
        try:
            entries: list[Entry] = []
            for event in events:
                entry = self.entry(event)
                if entry_size(entry) > MAX_REQUEST_BYTES:  # never accepted: do not even try
                    self._failed([entry], "EntryTooLarge", f"the entry exceeds {MAX_REQUEST_BYTES} bytes")
                else:
                    entries.append(entry)
            for chunk in chunks(entries):
                self._put(chunk)
        except Exception:  # the port's contract: a lost notification never fails the caller
            metrics.add_metric(name="LifecycleEventsFailed", unit=MetricUnit.Count, value=len(events))
            logger.exception("lifecycle events not put on the bus: unexpected error", extra={"bus": self._bus_name})

    def entry(self, event: LifecycleEvent) -> Entry:
        entry: Entry = {
            "Source": self._source,
            "DetailType": event.DETAIL_TYPE,
            "Detail": json.dumps(event.detail(), separators=(",", ":")),
            "EventBusName": self._bus_name,
        }
        moment = _event_time(event)
        if moment is not None:
            entry["Time"] = moment
        return entry

    def _put(self, entries: list[Entry]) -> None:
        """One PutEvents request, then again with the entries that failed for a reason
        retrying can fix, until every one is in or the attempts are spent."""
        pending: list[Entry] = entries
        for attempt in range(1, self._max_attempts + 1):
            outcome = self._attempt(pending)
            for (code, message), failed in outcome.refused.items():
                self._failed(failed, code, message)
            if not outcome.retry:
                return
            if attempt == self._max_attempts:
                code, message = outcome.error
                self._failed(outcome.retry, code, f"{message} (after {attempt} attempts)")
                return
            ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
            self._clock.sleep(random.uniform(ceiling / 2, ceiling))  # noqa: S311 - jitter, not crypto
            pending = outcome.retry

    def _attempt(self, entries: list[Entry]) -> Attempt:
        try:
            response = self._client.put_events(Entries=entries)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "")
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            reason = (code or str(status), str(error.get("Message", "")))
            if code in RETRYABLE_ERROR_CODES or status == 429 or status >= 500:
                return Attempt(retry=entries, error=reason)
            return Attempt(refused={reason: entries})
        except BotoCoreError as exc:  # connection reset, timeout, DNS…
            return Attempt(retry=entries, error=(type(exc).__name__, str(exc)))
        outcome = Attempt()
        if not response.get("FailedEntryCount"):
            return outcome
        for entry, result in zip(entries, response.get("Entries") or [], strict=False):
            code = str(result.get("ErrorCode") or "")
            reason = (code, str(result.get("ErrorMessage", "")))
            if not code:
                continue
            if code in RETRYABLE_ERROR_CODES:
                outcome.retry = [*outcome.retry, entry]
                outcome.error = reason
            else:
                outcome.refused[reason] = [*outcome.refused.get(reason, []), entry]
        return outcome

    def _failed(self, entries: list[Entry], code: str, message: str) -> None:
        metrics.add_metric(name="LifecycleEventsFailed", unit=MetricUnit.Count, value=len(entries))
        logger.error(
            "lifecycle events not put on the bus",
            extra={
                "bus": self._bus_name,
                "error_code": code,
                "error_message": message[:500],
                "detail_types": sorted({str(entry["DetailType"]) for entry in entries}),
                "count": len(entries),
            },
        )


def entry_size(entry: Entry) -> int:
    """An entry's size as EventBridge counts it against the 256 KB limit."""
    size = _TIME_BYTES if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(name) or "").encode())
    size += sum(len(str(resource).encode()) for resource in entry.get("Resources") or ())
    return size


def chunks(entries: list[Entry]) -> Iterator[list[Entry]]:
    """Requests of at most 10 entries and 256 KB each, in order."""
    chunk: list[Entry] = []
    size = 0
    for entry in entries:
        entry_bytes = entry_size(entry)
        if chunk and (len(chunk) == MAX_ENTRIES_PER_REQUEST or size + entry_bytes > MAX_REQUEST_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_bytes
    if chunk:
        yield chunk


def _event_time(event: LifecycleEvent) -> datetime | None:
    at = getattr(event, "at", None)
    if not isinstance(at, str):
        return None
    try:
        return datetime.fromisoformat(at)
    except ValueError:
        return None


def lifecycle_notifier(settings: HubSettings, client: Any = None) -> EventBridgeNotifier | None:
    """The notifier the settings ask for: EventBridge when EVENT_BUS_NAME is set (its
    endpoint from AWS_ENDPOINT_URL_EVENTBRIDGE locally), otherwise none."""
    if settings.event_bus_name is None:
        return None
    if client is None:
        # Short timeouts: a lifecycle event is put inside a connect or a delivery. Our own
        # loop retries what the bus reports failed; botocore retries a throttled call once.
        config = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1, read_timeout=2)
        client = ClientOnFirstUse(lambda: boto3.client("events", config=config))
    return EventBridgeNotifier(client, settings.event_bus_name, settings.lifecycle_source)
