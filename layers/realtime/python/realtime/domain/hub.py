"""The use cases of the real-time hub: connection lifecycle, subscriptions, publishing
and statistics. Ports default to the real AWS adapters; tests pass fakes."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from realtime.config import MAX_MESSAGE_BYTES, HubSettings
from realtime.domain.events import validate_event_data
from realtime.domain.fanout import fan_out
from realtime.domain.models import Connection, Counts, Envelope, Identity, PublishResult, iso_utc
from realtime.domain.ports import Clock, ConnectionRepository, Sender
from realtime.errors import ConnectionGone, Forbidden, PayloadTooLarge, UnknownGroup
from realtime.observability import MetricUnit, logger, metrics, record_publish

# Largest seq a JSON number holds exactly in every client; used to size an envelope
# before its real seq is allocated, so an oversized publish never burns a seq.
_WIDEST_SEQ = 2**53 - 1


class RealtimeHub:
    def __init__(
        self,
        settings: HubSettings | None = None,
        *,
        repository: ConnectionRepository | None = None,
        sender: Sender | None = None,
        clock: Clock | None = None,
        executor: Executor | None = None,
    ) -> None:
        from realtime import adapters  # deferred: tests that pass every port never build AWS clients

        self.settings = settings or adapters.settings()
        self.repository = repository or adapters.dynamodb_repository(self.settings)
        self.sender = sender or adapters.management_api_sender(self.settings)
        self.clock = clock or adapters.SystemClock()
        self.executor = executor or ThreadPoolExecutor(
            max_workers=self.settings.fanout_concurrency, thread_name_prefix="fanout"
        )

    # -- connection lifecycle -------------------------------------------------------

    def connect(self, connection_id: str, identity: Identity) -> Connection:
        self._require_role(identity, self.settings.connect_role, "connect")
        now = self.clock.now()
        connection = Connection(
            connection_id=connection_id,
            user_id=identity.user_id,
            roles=identity.roles,
            connected_at=now,
            expires_at=now + timedelta(seconds=self.settings.connection_ttl_seconds),
        )
        auto = self.settings.auto_join_group
        groups = [auto] if identity.has_role(self.settings.group_roles[auto]) else []
        self.repository.add_connection(connection, groups)
        metrics.add_metric(name="ConnectionsOpened", unit=MetricUnit.Count, value=1)
        return connection

    def disconnect(self, connection_id: str) -> list[str] | None:
        groups = self.repository.remove_connection(connection_id)
        if groups is not None:
            metrics.add_metric(name="ConnectionsClosed", unit=MetricUnit.Count, value=1)
        return groups

    def connection(self, connection_id: str) -> Connection | None:
        return self.repository.get_connection(connection_id)

    # -- subscriptions --------------------------------------------------------------

    def subscribe(self, connection: Connection, group: str) -> int:
        """Join `group`; return the group's last seq (0 if nothing was published yet)."""
        self._authorize_group(connection.identity, group)
        self.repository.subscribe(connection, group)
        return self.repository.last_seq(group)

    def unsubscribe(self, connection: Connection, group: str) -> None:
        self._require_group(group)
        self.repository.unsubscribe(connection.connection_id, group)

    # -- publishing -----------------------------------------------------------------

    def publish(self, identity: Identity, group: str, event_type: str, data: Any) -> PublishResult:
        self._require_role(identity, self.settings.publish_role, "publish")
        self._require_group(group)
        normalised = validate_event_data(event_type, data)
        message_id = str(uuid.uuid4())
        ts = iso_utc(self.clock.now())

        widest = Envelope(
            type=event_type, group=group, id=message_id, seq=_WIDEST_SEQ, ts=ts, data=normalised
        )
        size = len(widest.to_json().encode())
        if size > MAX_MESSAGE_BYTES:
            raise PayloadTooLarge(
                f"the delivered message would be {size} bytes; the limit is {MAX_MESSAGE_BYTES}"
            )

        seq = self.repository.next_seq(group)
        envelope = widest.model_copy(update={"seq": seq})
        self.repository.save_latest(envelope)
        started = time.perf_counter()
        outcome = fan_out(
            self.repository.member_pages(group),
            envelope.to_json().encode(),
            sender=self.sender,
            clock=self.clock,
            executor=self.executor,
            max_attempts=self.settings.send_max_attempts,
        )
        for connection_id in outcome.gone_connection_ids:
            self.repository.remove_connection(connection_id)
        gone = len(outcome.gone_connection_ids)
        record_publish(outcome.delivered, gone, outcome.failed, time.perf_counter() - started)
        if outcome.failed:
            logger.error(
                "deliveries failed after retries",
                extra={"message_id": message_id, "group": group, "seq": seq, "failed": outcome.failed},
            )
        return PublishResult(
            id=message_id,
            type=event_type,
            group=group,
            seq=seq,
            recipients=outcome.recipients,
            delivered=outcome.delivered,
            gone=gone,
            failed=outcome.failed,
        )

    def reply(self, connection_id: str, message: dict[str, Any]) -> bool:
        """Send a direct reply to one connection; False (and the connection removed) if gone."""
        try:
            self.sender.send(connection_id, json.dumps(message, separators=(",", ":")).encode())
            return True
        except ConnectionGone:
            self.repository.remove_connection(connection_id)
            return False

    # -- statistics -----------------------------------------------------------------

    def counts(self) -> Counts:
        return self.repository.counts(list(self.settings.group_roles))

    def connection_count(self) -> int:
        return self.repository.connection_count()

    def platform_snapshot(self) -> dict[str, Any]:
        counts = self.counts()
        latest = self.repository.latest()
        return {
            "connections": counts.connections,
            "groups": counts.groups,
            "latest": {name: envelope.model_dump(mode="json") for name, envelope in sorted(latest.items())},
        }

    # -- rules ----------------------------------------------------------------------

    def _require_group(self, group: str) -> None:
        if group not in self.settings.group_roles:
            raise UnknownGroup(
                f"unknown group {group!r}; configured groups: {', '.join(self.settings.group_roles)}"
            )

    def _authorize_group(self, identity: Identity, group: str) -> None:
        self._require_group(group)
        self._require_role(identity, self.settings.group_roles[group], f"join group {group!r}")

    @staticmethod
    def _require_role(identity: Identity, role: str, what: str) -> None:
        if not identity.has_role(role):
            raise Forbidden(f"the {role!r} role is required to {what}")
