"""The use cases of the real-time hub: connection lifecycle, subscriptions with gap-free
resume, publishing, presence and statistics. Ports default to the real AWS adapters;
tests pass fakes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from realtime.config import MAX_MESSAGE_BYTES, HubSettings
from realtime.domain.access import AccessPolicy
from realtime.domain.events import validate_event_data
from realtime.domain.fanout import Outcome, close_with_retry, fan_out, send_with_retry
from realtime.domain.lifecycle import (
    CloseReason,
    ConnectionClosed,
    ConnectionOpened,
    GroupOccupied,
    GroupVacated,
    LifecycleEvent,
)
from realtime.domain.models import (
    Appended,
    Connection,
    Counts,
    Envelope,
    FanoutResult,
    FanoutSlice,
    Identity,
    Presence,
    PublishRequest,
    PublishResult,
    QueuedPublish,
    Removal,
    SliceProgress,
    iso_utc,
)
from realtime.domain.ports import Clock, ConnectionRepository, EventPublisher, FanoutQueue, Idempotency, Sender
from realtime.domain.rate_limits import ActionLimiter
from realtime.errors import (
    Forbidden,
    PayloadTooLarge,
    RateLimited,
    RealtimeError,
    RecoveryFailed,
    ServiceUnavailable,
    UnknownConnection,
    UnknownMessage,
    ValidationFailed,
    error_details,
)
from realtime.observability import MetricUnit, logger, metrics, record_deliveries
from realtime.payload import brief
from realtime.protocol import error_frame

# Largest seq a JSON number holds exactly in every client; used to size an envelope
# before its real seq is allocated, so an oversized publish never burns a seq.
_WIDEST_SEQ = 2**53 - 1
_WIDEST_EPOCH = "e" * 32
REPLAY_PAGE = 100
PRESENCE_USER_IDS_LIMIT = 100
# Each lost race means a message was published between reading the group and joining it.
SUBSCRIBE_ATTEMPTS = 20


# Where a publish came from: each has its own idempotency key space.
Face = Literal["rest", "websocket", "eventbridge"]


def user_stream(user_id: str) -> str:
    """The sequence of messages targeted at one user (group names cannot contain ':')."""
    return f"user:{user_id}"


class Subscription(BaseModel):
    group: str
    seq: int
    epoch: str
    recovered: bool | None = None  # set when the client asked to resume
    replay_bytes: int | None = None  # what the replay may still send this minute (its budget)

    def reply(self) -> dict[str, Any]:
        reply = {"type": "Subscribed", "group": self.group, "seq": self.seq, "epoch": self.epoch}
        if self.recovered is not None:
            reply["recovered"] = self.recovered
        return reply


def _error_result(error: RealtimeError) -> dict[str, Any]:
    body: dict[str, Any] = {"status": error.http_status, "code": error.code, "message": error.message}
    if error.details:
        body["errors"] = error.details
    return body


class RealtimeHub:
    def __init__(
        self,
        settings: HubSettings | None = None,
        *,
        repository: ConnectionRepository | None = None,
        sender: Sender | None = None,
        clock: Clock | None = None,
        executor: Executor | None = None,
        idempotency: Idempotency | None = None,
        queue: FanoutQueue | None = None,
        events: EventPublisher | None = None,
        limiter: ActionLimiter | None = None,
    ) -> None:
        from realtime import adapters  # deferred: tests that pass every port never build AWS clients

        self.settings = settings or adapters.settings()
        self.access = AccessPolicy(
            self.settings.group_roles,
            connect_role=self.settings.connect_role,
            publish_role=self.settings.publish_role,
            admin_role=self.settings.admin_role,
        )
        self.repository = repository or adapters.dynamodb_repository(self.settings)
        self.sender = sender or adapters.management_api_sender(self.settings)
        self.clock = clock or adapters.SystemClock()
        self.executor = executor or ThreadPoolExecutor(
            max_workers=self.settings.fanout_concurrency, thread_name_prefix="fanout"
        )
        self._idempotency = idempotency
        self.limiter = limiter or ActionLimiter(self.settings.action_rate_per_second, self.settings.action_burst)
        # Without a queue every fan-out is inline; without a bus no lifecycle event is emitted.
        self.queue = (
            queue
            if queue is not None or self.settings.fanout_queue_url is None
            else adapters.sqs_fanout_queue(self.settings)
        )
        self.events = (
            events
            if events is not None or self.settings.event_bus_name is None
            else adapters.event_publisher(self.settings)
        )
        # The occupied flag is kept (at the cost of a condition per join) only when someone listens.
        self.repository.track_occupancy = self.events is not None
        self.lambda_context: Any = None  # the current invocation's, set by the handler

    @property
    def idempotency(self) -> Idempotency:
        if self._idempotency is None:  # built on first use: most calls carry no key
            from realtime import adapters

            self._idempotency = adapters.idempotency_runner(self.settings)
        return self._idempotency

    # -- connection lifecycle -------------------------------------------------------

    def connect(self, connection_id: str, identity: Identity) -> Connection:
        self.access.require_connect(identity)
        now = self.clock.now()
        connection = self._with_sweep_time(
            Connection(
                connection_id=connection_id,
                user_id=identity.user_id,
                roles=identity.roles,
                connected_at=now,
                expires_at=now + timedelta(seconds=self.settings.connection_ttl_seconds),
                token_expires_at=identity.expires_at,
            )
        )
        auto = self.settings.auto_join_group
        groups = [auto] if self.access.can_read(identity, auto) else []
        occupied = self.repository.add_connection(connection, groups)
        metrics.add_metric(name="ConnectionsOpened", unit=MetricUnit.Count, value=1)
        if self.events is not None:
            at = iso_utc(now)
            opened = ConnectionOpened(connection_id=connection_id, user_id=identity.user_id, groups=groups, at=at)
            firsts = [GroupOccupied(group=group, connection_id=connection_id, at=at) for group in occupied]
            self._emit([opened, *firsts])
        return connection

    def disconnect(self, connection_id: str) -> Removal | None:
        removal = self._remove(connection_id, "client")
        if removal is not None:
            metrics.add_metric(name="ConnectionsClosed", unit=MetricUnit.Count, value=1)
        return removal

    def _remove(self, connection_id: str, reason: CloseReason) -> Removal | None:
        """Remove a connection and everything it joined; emit what that changed."""
        removal = self.repository.remove_connection(connection_id)
        if removal is not None and self.events is not None:
            closed = ConnectionClosed(
                connection_id=connection_id,
                user_id=removal.user_id,
                reason=reason,
                groups=removal.groups,
                at=iso_utc(self.clock.now()),
            )
            self._emit([closed, *self._vacated(removal.groups, connection_id)])
        return removal

    def _vacated(self, groups: list[str], connection_id: str) -> list[LifecycleEvent]:
        """Group Vacated for each group this leave emptied (joins report Occupied themselves)."""
        at = iso_utc(self.clock.now())
        return [
            GroupVacated(group=group, connection_id=connection_id, at=at)
            for group in groups
            if self.repository.mark_vacated(group)
        ]

    def _emit(self, events: list[LifecycleEvent]) -> None:
        if self.events is not None and events:
            self.events.publish(events)

    def connection(self, connection_id: str) -> Connection | None:
        return self.repository.get_connection(connection_id)

    def sweep_expired(self) -> int:
        """Close and remove the connections that are due: past API Gateway's 2-hour limit
        with no $disconnect (it is best-effort), or whose token expired (plus the grace)
        without a `refresh`. Counts follow. Returns how many were removed."""
        now, removed = self.clock.now(), 0
        for connection_id in self.repository.expired_connections(now):
            connection = self.repository.get_connection(connection_id)
            if connection is None or (connection.sweep_at is not None and connection.sweep_at > now):
                continue  # already gone, or refreshed since it was indexed
            reason: CloseReason = "expired" if connection.expires_at <= now else "token-expired"
            removed += self._close(connection_id, reason) is not None
        if removed:
            metrics.add_metric(name="ConnectionsExpired", unit=MetricUnit.Count, value=removed)
            logger.info("expired connections removed", extra={"removed": removed})
        return removed

    def _close(self, connection_id: str, reason: CloseReason) -> Removal | None:
        """Remove the connection now (counts are exact at once, and the close is recorded
        with its reason), then close the socket at API Gateway: its $disconnect, which
        follows, finds nothing left."""
        removal = self._remove(connection_id, reason)
        self._close_socket(connection_id)
        return removal

    def _close_socket(self, connection_id: str) -> Outcome:
        outcome = close_with_retry(self.sender, self.clock, connection_id, self.settings.send_max_attempts)
        if outcome is Outcome.FAILED:
            # Removed anyway: it receives nothing more, and its frames find no connection.
            metrics.add_metric(name="CloseFailures", unit=MetricUnit.Count, value=1)
            logger.error("closing a connection failed after retries", extra={"connection_id": connection_id})
        return outcome

    def _with_sweep_time(self, connection: Connection) -> Connection:
        """When the sweeper must look at the connection: at API Gateway's limit, or when its
        token (plus the grace) expires, whichever comes first."""
        due = connection.expires_at
        if connection.token_expires_at is not None:
            due = min(due, connection.token_expires_at + timedelta(seconds=self.settings.token_expiry_grace_seconds))
        return connection.model_copy(update={"sweep_at": due})

    # -- tokens and revocation ------------------------------------------------------

    def token_expired(self, connection: Connection) -> bool:
        return connection.token_expired(self.clock.now(), self.settings.token_expiry_grace_seconds)

    def close_expired(self, connection: Connection) -> None:
        """The connection's token expired and it sent an action instead of `refresh`."""
        self._close(connection.connection_id, "token-expired")

    def refresh(self, connection: Connection, identity: Identity) -> tuple[Connection, list[str]]:
        """A fresh token for an open connection: same user, still allowed to connect. Its
        roles and expiry replace the old ones; groups it may no longer read are left.
        Returns the updated connection and the groups left."""
        if identity.user_id != connection.user_id:
            raise Forbidden("a refresh token must be for the connection's own user")
        self.access.require_connect(identity)
        updated = self._with_sweep_time(
            connection.model_copy(update={"roles": identity.roles, "token_expires_at": identity.expires_at})
        )
        if not self.repository.refresh_connection(connection, updated):
            raise UnknownConnection("the connection is closing")
        left = [
            group
            for group in self.repository.connection_groups(connection.connection_id)
            if not self.access.can_read(identity, group)
        ]
        for group in left:
            self.unsubscribe(updated, group)
        return updated, left

    def revoke_connection(self, identity: Identity, connection_id: str) -> Removal:
        """An administrator closes one connection at once. A socket API Gateway still holds
        but the table has lost is closed too (its user is then unknown: "")."""
        self.access.require_admin(identity)
        removal = self._remove(connection_id, "revoked")
        closed = self._close_socket(connection_id)
        if removal is None and closed is Outcome.GONE:
            raise UnknownConnection(f"no open connection {brief(connection_id)!r}")
        return removal or Removal(connection_id=connection_id, user_id="", groups=[])

    def revoke_user(self, identity: Identity, user_id: str) -> list[str]:
        """An administrator closes every connection of one user; returns their ids."""
        self.access.require_admin(identity)
        closed: list[str] = []
        for page in self.repository.user_connection_pages(user_id):
            closed += [cid for cid in page if self._close(cid, "revoked") is not None]
        return closed

    # -- subscriptions --------------------------------------------------------------

    def subscribe(
        self, connection: Connection, group: str, *, since: int | None = None, epoch: str | None = None
    ) -> Subscription:
        """Join `group`. Without `since`, the client receives every message after the
        returned seq. With `since` (and the epoch it saw), the membership starts in replay
        mode when history still covers since+1…current: call `replay` next. A replay is
        charged to the connection's replay budget (RateLimited when it is spent)."""
        self.access.require_read(connection.identity, group)
        allowance: int | None = None
        for _ in range(SUBSCRIBE_ATTEMPTS):
            state = self.repository.group_state(group)
            recovering = since is not None and self._history_covers(group, since, epoch, state.seq, state.epoch)
            if recovering and allowance is None and since is not None and state.seq > since:
                allowance = self._charge_replay(connection, state.seq - since)  # once, before joining
            outcome = self.repository.join(connection, group, state, replaying=recovering)
            if outcome is None:
                continue  # a message was published meanwhile: read the group again
            recovered = (recovering and outcome != "member") if since is not None else None
            if outcome == "occupied":
                at = iso_utc(self.clock.now())
                self._emit([GroupOccupied(group=group, connection_id=connection.connection_id, at=at)])
            return Subscription(
                group=group, seq=state.seq, epoch=state.epoch, recovered=recovered, replay_bytes=allowance
            )
        raise ServiceUnavailable(f"group {group!r} is publishing too fast to join it now; retry")

    def replay(self, connection: Connection, group: str, since: int, byte_budget: int | None = None) -> None:
        """Send every message after `since`, in order, then make the membership live. New
        messages published during the replay are replayed too; the switch to live is
        conditional on the group's seq, so no message is missed or sent twice. Whatever
        goes wrong, the membership never stays `replaying` (it would receive nothing): the
        client gets RecoveryFailed (RateLimited past `byte_budget`) and is unsubscribed."""
        sent = [0]
        try:
            self._replay(connection, group, since, byte_budget, sent)
        except Exception:
            logger.exception("replay failed", extra={"group": group})
            self._abandon_replay(connection, group, "the replay failed")
        finally:
            if byte_budget is not None and sent[0]:
                self.repository.add_replay_bytes(connection.connection_id, self._replay_window(), sent[0])

    def _replay(self, connection: Connection, group: str, since: int, byte_budget: int | None, sent: list[int]) -> None:
        deadline = time.monotonic() + self.settings.replay_budget_seconds
        cid, last = connection.connection_id, since
        while True:
            page = self.repository.history(group, last, REPLAY_PAGE, self.clock.now())
            if page.first_seq is not None and page.first_seq != last + 1:
                return self._abandon_replay(connection, group, f"history no longer holds seq {last + 1}")
            for envelope in page.items:
                payload = envelope.to_json().encode()
                if byte_budget is not None and sent[0] + len(payload) > byte_budget:
                    return self._abandon_replay(connection, group, "", self._replay_limited())
                outcome = send_with_retry(self.sender, self.clock, cid, payload, self.settings.send_max_attempts)
                if outcome is Outcome.GONE:
                    self._remove(cid, "stale")
                    return None
                if outcome is Outcome.FAILED:
                    return self._abandon_replay(connection, group, "a replayed message could not be delivered")
                sent[0] += len(payload)
            if page.last_seq is not None:
                last = page.last_seq  # past unreadable items too (skipped, logged and counted)
            if not page.more and self.repository.go_live(cid, group, last):
                metrics.add_metric(name="MessagesReplayed", unit=MetricUnit.Count, value=last - since)
                return None
            if time.monotonic() > deadline:
                return self._abandon_replay(connection, group, "the group publishes faster than it can be replayed")

    def _abandon_replay(self, connection: Connection, group: str, why: str, error: RealtimeError | None = None) -> None:
        """Leave the group and tell the client why (RecoveryFailed unless `error` says otherwise)."""
        error = error or RecoveryFailed(f"{why}; reload the state (getPlatformStats) and subscribe again")
        try:
            self.unsubscribe(connection, group)
        finally:
            logger.warning("replay abandoned", extra={"group": group, "reason": error.message})
            self.reply(connection.connection_id, error_frame(error, group=group))

    def _history_covers(self, group: str, since: int, epoch: str | None, seq: int, current_epoch: str) -> bool:
        if epoch != current_epoch or since < 0 or since > seq:
            return False
        if seq - since > self.settings.replay_max_messages:
            return False
        if since == seq:
            return True
        return self.repository.history(group, since, 1, self.clock.now()).first_seq == since + 1

    def _charge_replay(self, connection: Connection, messages: int) -> int:
        """Take `messages` from the connection's replay budget for this minute (counted in
        DynamoDB, so it holds across execution environments): the bytes the replay may
        send, or RateLimited."""
        limit = self.settings.replay_messages_per_minute
        allowed = (
            self.repository.charge_replay(
                connection.connection_id,
                self._replay_window(),
                messages,
                max_messages=limit,
                max_bytes=self.settings.replay_bytes_per_minute,
            )
            if messages <= limit
            else None
        )
        if allowed is None:
            raise self._replay_limited()
        return allowed

    def _replay_window(self) -> int:
        return int(self.clock.now().timestamp()) // 60

    def _replay_limited(self) -> RateLimited:
        return RateLimited(
            f"this connection's replay budget ({self.settings.replay_messages_per_minute} messages and "
            f"{self.settings.replay_bytes_per_minute} bytes a minute) is spent; subscribe again later",
            retry_after=60 - self.clock.now().timestamp() % 60,
        )

    def unsubscribe(self, connection: Connection, group: str) -> None:
        self.access.require_group(group)
        if self.repository.unsubscribe(connection.connection_id, group) and self.events is not None:
            self._emit(self._vacated([group], connection.connection_id))

    def history(self, identity: Identity, group: str, after: int, limit: int) -> tuple[list[Envelope], int | None]:
        """A page of the group's history and the `after` of the next page (None at the end)."""
        self.access.require_read(identity, group)
        page = self.repository.history(group, after, limit, self.clock.now())
        return page.items, (page.last_seq if page.more else None)

    # -- publishing -----------------------------------------------------------------

    def publish(
        self,
        identity: Identity,
        event_type: str,
        data: Any,
        *,
        group: str | None = None,
        user_id: str | None = None,
    ) -> PublishResult | QueuedPublish:
        """Publish to a group, or to every open connection of one user."""
        self.access.require_publish(identity)
        if (group is None) == (user_id is None):
            raise ValidationFailed(
                "give either a group or a userId",
                details=[{"loc": ["group"], "msg": "group or userId", "type": "missing"}],
            )
        if group is not None:
            self.access.require_group(group)
        normalised = validate_event_data(event_type, data)
        message_id, ts = str(uuid.uuid4()), iso_utc(self.clock.now())

        def build(seq: int, epoch: str) -> Envelope:
            return Envelope(
                type=event_type,
                group=group,
                user_id=user_id,
                id=message_id,
                seq=seq,
                epoch=epoch,
                ts=ts,
                data=normalised,
            )

        size = len(build(_WIDEST_SEQ, _WIDEST_EPOCH).to_json().encode())
        if size > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(f"the delivered message would be {size} bytes; the limit is {MAX_MESSAGE_BYTES}")

        stream = group if group is not None else user_stream(str(user_id))
        queue_above = self.settings.fanout_queue_threshold if group is not None and self.queue is not None else None
        appended = self.repository.append(
            stream,
            build,
            history_ttl=self.settings.history_ttl_seconds,
            history_limit=self.settings.history_max_messages,
            now=self.clock.now(),
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
                for page in self.repository.member_pages(group, shards=appended.shards)
            )
        else:
            pages = self.repository.user_connection_pages(str(user_id))
        outcome = self._deliver(pages, envelope)
        if group is not None:
            self._keep_latest(envelope)
        return PublishResult(
            id=message_id,
            type=event_type,
            group=group,
            user_id=user_id,
            seq=envelope.seq,
            recipients=outcome.recipients,
            delivered=outcome.delivered,
            gone=len(outcome.gone_connection_ids),
            failed=outcome.failed,
        )

    def _keep_latest(self, envelope: Envelope) -> None:
        """The platform snapshot's latest value of this type. After the deliveries, and
        never failing the publish: a caller told "503" would publish a duplicate."""
        try:
            self.repository.save_latest(envelope)
        except ServiceUnavailable:
            logger.warning("the latest value was not kept", extra={"message_id": envelope.id, "type": envelope.type})

    def _deliver(self, pages: Iterable[list[str]], envelope: Envelope) -> FanoutResult:
        """Fan one envelope out inline and account for it."""
        started = time.perf_counter()
        outcome = self._send(pages, envelope.to_json().encode())
        metrics.add_metric(name="MessagesPublished", unit=MetricUnit.Count, value=1)
        self._account(outcome, envelope.id, envelope.group or user_stream(str(envelope.user_id)), envelope.seq, started)
        return outcome

    def _send(self, pages: Iterable[list[str]], payload: bytes) -> FanoutResult:
        return fan_out(
            pages,
            payload,
            sender=self.sender,
            clock=self.clock,
            executor=self.executor,
            max_attempts=self.settings.send_max_attempts,
        )

    def _account(self, outcome: FanoutResult, message_id: str, stream: str, seq: int, started: float) -> None:
        """After a fan-out (inline, or one page of a queued one): remove the connections
        found gone, record the metrics, log what failed after every retry."""
        for connection_id in outcome.gone_connection_ids:
            self._remove(connection_id, "stale")
        gone = len(outcome.gone_connection_ids)
        record_deliveries(outcome.delivered, gone, outcome.failed, time.perf_counter() - started)
        if outcome.failed:
            logger.error(
                "deliveries failed after retries",
                extra={"message_id": message_id, "stream": stream, "seq": seq, "failed": outcome.failed},
            )

    # -- queued fan-out -------------------------------------------------------------

    def _enqueue(self, appended: Appended, group: str) -> QueuedPublish:
        """Hand a large group's fan-out to the workers: one slice per membership shard."""
        envelope = appended.envelope
        body = envelope.to_json()
        slices = [
            FanoutSlice(message_id=envelope.id, group=group, seq=envelope.seq, shard=shard, envelope=body)
            for shard in range(appended.shards)
        ]
        if self.queue is None:  # append queues only when a queue exists
            raise RuntimeError("a queued message needs a fan-out queue")
        try:
            self.queue.enqueue(slices)
        except ServiceUnavailable:
            # The message is in history (a resuming client still gets it) but nobody was
            # sent it: release the group and tell the caller to retry.
            self.repository.abandon_message(envelope.id, group)
            raise
        metrics.add_metric(name="MessagesPublished", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="MessagesQueued", unit=MetricUnit.Count, value=1)
        return QueuedPublish(id=envelope.id, group=group, seq=envelope.seq, recipients=appended.recipients)

    def deliver_slice(self, work: FanoutSlice) -> None:
        """A worker's job: deliver one queued message to one membership shard, page by
        page, checkpointing after each page so a redelivered slice resumes where it
        stopped (at-least-once: only the page in flight at a crash can be sent twice;
        clients drop a seq they already have)."""
        progress = self.repository.slice_progress(work.message_id, work.shard)
        payload = work.envelope.encode()
        while not progress.done:
            pages = self.repository.member_pages(work.group, work.shard, after=progress.after)
            page = next(iter(pages), [])
            if not page:  # no member after the checkpoint: the slice is done
                if not self.repository.checkpoint_slice(
                    work.message_id, work.shard, progress, progress.after, FanoutResult(), done=True
                ):
                    return  # another worker has this slice
                break
            started = time.perf_counter()
            outcome = self._send([[m.connection_id for m in page if m.receives(work.seq)]], payload)
            after = page[-1].connection_id
            if not self.repository.checkpoint_slice(work.message_id, work.shard, progress, after, outcome, done=False):
                return
            # Accounted after the checkpoint: a retried page must still find (and count) the gone.
            self._account(outcome, work.message_id, work.group, work.seq, started)
            progress = SliceProgress(after=after)
        if self.repository.complete_slice(work.message_id, work.shard, work.group):
            logger.info("queued fan-out finished", extra={"message_id": work.message_id, "group": work.group})

    def message_progress(self, identity: Identity, message_id: str) -> dict[str, Any]:
        progress = self.repository.message_progress(message_id) if len(message_id) <= 64 else None
        if progress is None:
            raise UnknownMessage(
                f"no queued message {brief(message_id)!r} (inline publishes answer with their counts; "
                "progress is kept for 24 hours)"
            )
        self.access.require_progress(identity, progress.group)
        return progress.model_dump(by_alias=True)

    def publish_request(self, identity: Identity, request: PublishRequest) -> dict[str, Any]:
        result = self.publish(identity, request.type, request.data, group=request.group, user_id=request.user_id)
        return result.model_dump(mode="json", by_alias=True, exclude_none=True)

    def publish_batch(self, identity: Identity, events: list[Any]) -> list[dict[str, Any]]:
        """Publish each event on its own: one invalid event does not block the others.
        Each result is the publish response plus `"status": 200` (`202` and `"queued": true`
        for a queued fan-out), or the error."""
        results: list[dict[str, Any]] = []
        for index, raw in enumerate(events):
            try:
                request = PublishRequest.model_validate(raw)
                result = self.publish_request(identity, request)
                if result.get("status") == "queued":  # the item's status is its HTTP status
                    results.append({**result, "status": 202, "queued": True})
                else:
                    results.append({"status": 200, **result})
            except ValidationError as exc:
                error = ValidationFailed(f"event {index} is invalid", details=error_details(exc))
                results.append(_error_result(error))
            except RealtimeError as exc:
                results.append(_error_result(exc))
        return results

    def once(
        self,
        face: Face,
        key: str | None,
        identity: Identity,
        request: Any,
        compute: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """Run `compute` once per (face, caller, Idempotency-Key) within the window. Each
        face has its own key space, so a REST caller can never claim a bus event's key."""
        return self.idempotency.run(key, (face, identity.user_id), request, compute, self.lambda_context)

    def publish_once(self, face: Face, key: str | None, identity: Identity, request: PublishRequest) -> dict[str, Any]:
        """One publish, idempotent under `key`: the path every face takes."""
        body = request.model_dump(mode="json", by_alias=True)
        return self.once(face, key, identity, body, partial(self.publish_request, identity, request))

    def reply(self, connection_id: str, message: dict[str, Any]) -> bool:
        """Send a direct reply to one connection, retrying throttling like the fan-out.
        False when it could not be delivered (a gone connection is removed)."""
        payload = json.dumps(message, separators=(",", ":")).encode()
        outcome = send_with_retry(self.sender, self.clock, connection_id, payload, self.settings.send_max_attempts)
        if outcome is Outcome.GONE:
            self._remove(connection_id, "stale")
        elif outcome is Outcome.FAILED:
            metrics.add_metric(name="DeliveryFailures", unit=MetricUnit.Count, value=1)
            logger.error("reply failed after retries", extra={"reply_type": message.get("type")})
        return outcome is Outcome.DELIVERED

    # -- presence and statistics ----------------------------------------------------

    def presence(self, identity: Identity, group: str, *, with_user_ids: bool = False) -> dict[str, Any]:
        self.access.require_read(identity, group)
        user_ids = self.repository.group_user_ids(group)
        state = self.repository.group_state(group)
        presence = Presence(
            group=group,
            connections=self.repository.counts([group]).groups[group],
            users=len(user_ids),
            last_seq=state.seq,
            epoch=state.epoch,
        ).model_dump(by_alias=True)
        if with_user_ids and len(user_ids) <= PRESENCE_USER_IDS_LIMIT:
            presence["userIds"] = sorted(user_ids)
        return presence

    def readable_groups(self, identity: Identity) -> list[str]:
        return self.access.readable_groups(identity)

    def counts(self, identity: Identity | None = None) -> Counts:
        """Open connections, and members of each group the caller may read (None: every
        group — the system's own view, for the sweeper, tests and tools)."""
        groups = list(self.settings.group_roles) if identity is None else self.access.readable_groups(identity)
        return self.repository.counts(groups)

    def connection_count(self) -> int:
        return self.repository.connection_count()

    def platform_snapshot(self, identity: Identity) -> dict[str, Any]:
        """Counts and the latest envelope of every event type — of the groups the caller may
        read only."""
        counts = self.counts(identity)
        latest = {
            name: envelope
            for name, envelope in self.repository.latest().items()
            if envelope.group is not None and envelope.group in counts.groups
        }
        return {
            "connections": counts.connections,
            "groups": counts.groups,
            "latest": {name: envelope.to_dict() for name, envelope in sorted(latest.items())},
        }
