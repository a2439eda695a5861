"""Use cases of publishing: one event to a group (inline, or queued for the workers when
the group is large) or to every connection of a user; a batch; and the one idempotent path
every face takes (REST, WebSocket, EventBridge)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import ValidationError

from realtime.config import MAX_MESSAGE_BYTES, HubSettings
from realtime.domain.access import AccessPolicy
from realtime.domain.delivery import Delivery
from realtime.domain.departures import Departures
from realtime.domain.event_types import validate_event_data
from realtime.domain.models import (
    Appended,
    BatchItem,
    BatchOutcome,
    Envelope,
    FanoutResult,
    FanoutSlice,
    Identity,
    PublishOutcome,
    PublishRequest,
    PublishResult,
    QueuedPublish,
    RefusedEvent,
    iso_utc,
)
from realtime.domain.ports import (
    Clock,
    Connections,
    FanoutProgress,
    FanoutQueue,
    Idempotency,
    LatestValues,
    Memberships,
    Streams,
)
from realtime.errors import PayloadTooLarge, RealtimeError, ServiceUnavailable, ValidationFailed, error_details
from realtime.observability import MetricUnit, logger, metrics, record_deliveries

# Largest seq a JSON number holds exactly in every client; used to size an envelope
# before its real seq is allocated, so an oversized publish never burns a seq.
_WIDEST_SEQ = 2**53 - 1
_WIDEST_EPOCH = "e" * 32

# Where a publish came from: each has its own idempotency key space.
Face = Literal["rest", "iam", "websocket", "eventbridge"]


def user_stream(user_id: str) -> str:
    """The sequence of messages targeted at one user (group names cannot contain ':')."""
    return f"user:{user_id}"


def settle(
    outcome: FanoutResult, departures: Departures, message_id: str, stream: str, seq: int, started: float
) -> None:
    """After a fan-out (inline, or one page of a queued one): remove the connections found
    gone, record the metrics, log what failed after every retry."""
    for connection_id in outcome.gone_connection_ids:
        departures.remove(connection_id, "stale")
    gone = len(outcome.gone_connection_ids)
    record_deliveries(outcome.delivered, gone, outcome.failed, time.perf_counter() - started)
    if outcome.failed:
        logger.error(
            "deliveries failed after retries",
            extra={"message_id": message_id, "stream": stream, "seq": seq, "failed": outcome.failed},
        )


class Publishing:
    def __init__(
        self,
        settings: HubSettings,
        access: AccessPolicy,
        streams: Streams,
        memberships: Memberships,
        connections: Connections,
        latest: LatestValues,
        progress: FanoutProgress,
        queue: FanoutQueue | None,
        delivery: Delivery,
        departures: Departures,
        idempotency: Idempotency,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._access = access
        self._streams = streams
        self._memberships = memberships
        self._connections = connections
        self._latest = latest
        self._progress = progress
        self._queue = queue  # None: every fan-out is inline
        self._delivery = delivery
        self._departures = departures
        self._idempotency = idempotency
        self._clock = clock

    def publish(self, identity: Identity, request: PublishRequest) -> PublishResult | QueuedPublish:
        """Publish to a group, or to every open connection of one user."""
        self._access.require_publish(identity)
        group, user_id = request.group, request.user_id
        if (group is None) == (user_id is None):
            raise ValidationFailed(
                "give either a group or a userId",
                details=[{"loc": ["group"], "msg": "group or userId", "type": "missing"}],
            )
        if group is not None:
            self._access.require_group(group)
        data = validate_event_data(request.type, request.data)
        message_id, ts = str(uuid.uuid4()), iso_utc(self._clock.now())

        def build(seq: int, epoch: str) -> Envelope:
            return Envelope(
                type=request.type, group=group, user_id=user_id, id=message_id, seq=seq, epoch=epoch, ts=ts, data=data
            )

        size = len(build(_WIDEST_SEQ, _WIDEST_EPOCH).to_json().encode())
        if size > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"the delivered message would be {size} bytes; the limit is {MAX_MESSAGE_BYTES}")

        stream = group if group is not None else user_stream(str(user_id))
        queue_above = self._settings.fanout_queue_threshold if group is not None and self._queue else None
        appended = self._streams.append(
            stream,
            build,
            history_ttl=self._settings.history_ttl_seconds,
            history_limit=self._settings.history_max_messages,
            now=self._clock.now(),
            queue_above=queue_above,
        )
        envelope = appended.envelope
        pages: Iterable[list[str]]
        if group is not None:
            if appended.queued:
                queued = self._enqueue(appended, group)
                self._keep_latest(envelope)
                return queued
            pages = (
                [m.connection_id for m in page if m.receives(envelope.seq)]
                for page in self._memberships.members(group, shards=appended.shards)
            )
        else:
            pages = self._connections.of_user(str(user_id))
        outcome = self._deliver(pages, envelope)
        if group is not None:
            self._keep_latest(envelope)
        return PublishResult(
            id=message_id,
            type=request.type,
            group=group,
            user_id=user_id,
            seq=envelope.seq,
            recipients=outcome.recipients,
            delivered=outcome.delivered,
            gone=len(outcome.gone_connection_ids),
            failed=outcome.failed,
        )

    def publish_once(
        self, face: Face, key: str | None, identity: Identity, request: PublishRequest, invocation: Any = None
    ) -> PublishResult | QueuedPublish:
        """One publish, idempotent under `key` (per face and caller): the path every face
        takes. A repeat gets the first answer; nothing is delivered twice."""
        outcome = self._idempotency.run(
            key,
            (face, identity.user_id),
            request.model_dump(mode="json", by_alias=True),
            lambda: PublishOutcome(self.publish(identity, request)),
            PublishOutcome,
            invocation,
        )
        return outcome.root

    def publish_batch(self, identity: Identity, events: list[Any]) -> BatchOutcome:
        """Publish each event on its own, in order: one invalid event does not block the others."""
        items: list[BatchItem] = []
        for index, raw in enumerate(events):
            try:
                items.append(BatchItem(published=self.publish(identity, PublishRequest.model_validate(raw))))
            except ValidationError as exc:
                items.append(_refused(ValidationFailed(f"event {index} is invalid", details=error_details(exc))))
            except RealtimeError as exc:
                items.append(_refused(exc))
        return BatchOutcome(items=items)

    def publish_batch_once(
        self, face: Face, key: str | None, identity: Identity, events: list[Any], invocation: Any = None
    ) -> BatchOutcome:
        return self._idempotency.run(
            key,
            (face, identity.user_id),
            {"events": events},
            lambda: self.publish_batch(identity, events),
            BatchOutcome,
            invocation,
        )

    def _keep_latest(self, envelope: Envelope) -> None:
        """The platform snapshot's latest value of this type. After the deliveries, and
        never failing the publish: a caller told "503" would publish a duplicate."""
        try:
            self._latest.save(envelope)
        except ServiceUnavailable:
            logger.warning("the latest value was not kept", extra={"message_id": envelope.id, "type": envelope.type})

    def _deliver(self, pages: Iterable[list[str]], envelope: Envelope) -> FanoutResult:
        """Fan one envelope out inline and account for it."""
        started = time.perf_counter()
        outcome = self._delivery.fan_out(pages, envelope.to_json().encode())
        metrics.add_metric(name="MessagesPublished", unit=MetricUnit.Count, value=1)
        stream = envelope.group or user_stream(str(envelope.user_id))
        settle(outcome, self._departures, envelope.id, stream, envelope.seq, started)
        return outcome

    def _enqueue(self, appended: Appended, group: str) -> QueuedPublish:
        """Hand a large group's fan-out to the workers: one slice per membership shard."""
        envelope = appended.envelope
        body = envelope.to_json()
        slices = [
            FanoutSlice(message_id=envelope.id, group=group, seq=envelope.seq, shard=shard, envelope=body)
            for shard in range(appended.shards)
        ]
        if self._queue is None:  # append queues only when a queue exists
            raise RuntimeError("a queued message needs a fan-out queue")
        try:
            self._queue.enqueue(slices)
        except ServiceUnavailable:
            # The message is in history (a resuming client still gets it) but nobody was
            # sent it: release the group and tell the caller to retry.
            self._progress.abandon_message(envelope.id, group)
            raise
        metrics.add_metric(name="MessagesPublished", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="MessagesQueued", unit=MetricUnit.Count, value=1)
        return QueuedPublish(id=envelope.id, group=group, seq=envelope.seq, recipients=appended.recipients)


def _refused(error: RealtimeError) -> BatchItem:
    return BatchItem(refused=RefusedEvent(code=error.code, message=error.message, errors=error.details))
