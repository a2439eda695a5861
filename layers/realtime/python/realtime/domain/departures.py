"""What every use case that ends a connection or a membership shares: removing it (and
telling the bus), closing its socket, replying to it — so a connection found gone by a
publish, a replay, a reply or the sweeper is removed the same way.

`Notices` emits the lifecycle events (connection opened/closed, group occupied/vacated)
when a bus is configured, and does nothing at all (not even the occupancy bookkeeping)
when none is."""

from __future__ import annotations

import json
from typing import Any

from realtime.domain.delivery import Delivery, Outcome
from realtime.domain.lifecycle import (
    CloseReason,
    ConnectionClosed,
    ConnectionOpened,
    GroupOccupied,
    GroupVacated,
    LifecycleEvent,
)
from realtime.domain.models import Removal, iso_utc
from realtime.domain.ports import Clock, Connections, LifecycleNotifier, Memberships
from realtime.observability import MetricUnit, logger, metrics


class Notices:
    def __init__(self, notifier: LifecycleNotifier | None, memberships: Memberships, clock: Clock) -> None:
        self._notifier = notifier
        self._memberships = memberships
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._notifier is not None

    def opened(self, connection_id: str, user_id: str, groups: list[str], occupied: list[str]) -> None:
        at = self._at()
        opened = ConnectionOpened(connection_id=connection_id, user_id=user_id, groups=groups, at=at)
        self._emit([opened, *(GroupOccupied(group=g, connection_id=connection_id, at=at) for g in occupied)])

    def occupied(self, group: str, connection_id: str) -> None:
        self._emit([GroupOccupied(group=group, connection_id=connection_id, at=self._at())])

    def closed(self, removal: Removal, reason: CloseReason) -> None:
        closed = ConnectionClosed(
            connection_id=removal.connection_id,
            user_id=removal.user_id,
            reason=reason,
            groups=removal.groups,
            at=self._at(),
        )
        self._emit([closed, *self._vacated(removal.groups, removal.connection_id)])

    def left(self, group: str, connection_id: str) -> None:
        self._emit(self._vacated([group], connection_id))

    def _vacated(self, groups: list[str], connection_id: str) -> list[LifecycleEvent]:
        """Group Vacated for each group this leave emptied (joins report Occupied themselves)."""
        if not self.enabled:
            return []
        at = self._at()
        return [
            GroupVacated(group=group, connection_id=connection_id, at=at)
            for group in groups
            if self._memberships.mark_vacated(group)
        ]

    def _emit(self, events: list[LifecycleEvent]) -> None:
        if self._notifier is not None and events:
            self._notifier.notify(events)

    def _at(self) -> str:
        return iso_utc(self._clock.now())


class Departures:
    """Connections and memberships ending, for whatever reason."""

    def __init__(
        self, connections: Connections, memberships: Memberships, delivery: Delivery, notices: Notices
    ) -> None:
        self._connections = connections
        self._memberships = memberships
        self._delivery = delivery
        self._notices = notices

    def remove(self, connection_id: str, reason: CloseReason) -> Removal | None:
        """Remove a connection and everything it joined; tell the bus what that changed."""
        removal = self._connections.remove(connection_id)
        if removal is not None and self._notices.enabled:
            self._notices.closed(removal, reason)
        return removal

    def close(self, connection_id: str, reason: CloseReason) -> Removal | None:
        """Remove the connection now (counts are exact at once, and the close is recorded
        with its reason), then close the socket at API Gateway: its $disconnect, which
        follows, finds nothing left."""
        removal = self.remove(connection_id, reason)
        self.close_socket(connection_id)
        return removal

    def close_socket(self, connection_id: str) -> Outcome:
        outcome = self._delivery.close(connection_id)
        if outcome is Outcome.FAILED:
            # Removed anyway: it receives nothing more, and its frames find no connection.
            metrics.add_metric(name="CloseFailures", unit=MetricUnit.Count, value=1)
            logger.error("closing a connection failed after retries", extra={"connection_id": connection_id})
        return outcome

    def leave(self, connection_id: str, group: str) -> bool:
        left = self._memberships.leave(connection_id, group)
        if left and self._notices.enabled:
            self._notices.left(group, connection_id)
        return left

    def reply(self, connection_id: str, message: dict[str, Any]) -> bool:
        """Send a direct reply to one connection, retrying throttling like the fan-out.
        False when it could not be delivered (a gone connection is removed)."""
        payload = json.dumps(message, separators=(",", ":")).encode()
        outcome = self._delivery.send(connection_id, payload)
        if outcome is Outcome.GONE:
            self.remove(connection_id, "stale")
        elif outcome is Outcome.FAILED:
            metrics.add_metric(name="DeliveryFailures", unit=MetricUnit.Count, value=1)
            logger.error("reply failed after retries", extra={"reply_type": message.get("type")})
        return outcome is Outcome.DELIVERED
