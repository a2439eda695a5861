"""Use cases of a connection's life: connect, disconnect, the sweep of connections whose
`$disconnect` never came or whose token expired, `refresh`, and revocation."""

from __future__ import annotations

from datetime import timedelta

from realtime.config import HubSettings
from realtime.domain.access import AccessPolicy
from realtime.domain.delivery import Outcome
from realtime.domain.departures import Departures, Notices
from realtime.domain.lifecycle import CloseReason
from realtime.domain.models import Connection, Identity, Removal
from realtime.domain.ports import Clock, Connections
from realtime.errors import Forbidden, UnknownConnection
from realtime.observability import MetricUnit, logger, metrics
from realtime.payload import brief


class ConnectionLifecycle:
    def __init__(
        self,
        settings: HubSettings,
        access: AccessPolicy,
        connections: Connections,
        departures: Departures,
        notices: Notices,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._access = access
        self._connections = connections
        self._departures = departures
        self._notices = notices
        self._clock = clock

    def connect(self, connection_id: str, identity: Identity) -> Connection:
        """Record the connection and its auto-join membership (the authorizer has verified
        the token; the connect role is checked again: defence in depth)."""
        self._access.require_connect(identity)
        now = self._clock.now()
        connection = self._with_sweep_time(
            Connection(
                connection_id=connection_id,
                user_id=identity.user_id,
                roles=identity.roles,
                connected_at=now,
                expires_at=now + timedelta(seconds=self._settings.connection_ttl_seconds),
                token_expires_at=identity.expires_at,
            )
        )
        auto = self._settings.auto_join_group
        groups = [auto] if self._access.can_read(identity, auto) else []
        occupied = self._connections.add(connection, groups)
        metrics.add_metric(name="ConnectionsOpened", unit=MetricUnit.Count, value=1)
        if self._notices.enabled:
            self._notices.opened(connection_id, identity.user_id, groups, occupied)
        return connection

    def disconnect(self, connection_id: str) -> Removal | None:
        removal = self._departures.remove(connection_id, "client")
        if removal is not None:
            metrics.add_metric(name="ConnectionsClosed", unit=MetricUnit.Count, value=1)
        return removal

    def get(self, connection_id: str) -> Connection | None:
        return self._connections.get(connection_id)

    def sweep(self) -> int:
        """Close and remove the connections that are due: past API Gateway's 2-hour limit
        with no $disconnect (it is best-effort), or whose token expired (plus the grace)
        without a `refresh`. Counts follow. Returns how many were removed."""
        now, removed = self._clock.now(), 0
        for connection_id in self._connections.due(now):
            connection = self._connections.get(connection_id)
            if connection is None or (connection.sweep_at is not None and connection.sweep_at > now):
                continue  # already gone, or refreshed since it was indexed
            reason: CloseReason = "expired" if connection.expires_at <= now else "token-expired"
            removed += self._departures.close(connection_id, reason) is not None
        if removed:
            metrics.add_metric(name="ConnectionsExpired", unit=MetricUnit.Count, value=removed)
            logger.info("expired connections removed", extra={"removed": removed})
        return removed

    # -- tokens and revocation ----------------------------------------------------------

    def token_expired(self, connection: Connection) -> bool:
        return connection.token_expired(self._clock.now(), self._settings.token_expiry_grace_seconds)

    def close_expired(self, connection: Connection) -> None:
        """The connection's token expired and it sent an action instead of `refresh`."""
        self._departures.close(connection.connection_id, "token-expired")

    def refresh(self, connection: Connection, identity: Identity) -> tuple[Connection, list[str]]:
        """A fresh token for an open connection: same user, still allowed to connect. Its
        roles and expiry replace the old ones; groups it may no longer read are left.
        Returns the updated connection and the groups left."""
        if identity.user_id != connection.user_id:
            raise Forbidden("a refresh token must be for the connection's own user")
        self._access.require_connect(identity)
        updated = self._with_sweep_time(
            connection.model_copy(update={"roles": identity.roles, "token_expires_at": identity.expires_at})
        )
        if not self._connections.refresh(connection, updated):
            raise UnknownConnection("the connection is closing")
        left = [
            group
            for group in self._connections.groups_of(connection.connection_id)
            if not self._access.can_read(identity, group)
        ]
        for group in left:
            self._departures.leave(connection.connection_id, group)
        return updated, left

    def revoke(self, identity: Identity, connection_id: str) -> Removal:
        """An administrator closes one connection at once. A socket API Gateway still holds
        but the table has lost is closed too (its user is then unknown: "")."""
        self._access.require_admin(identity)
        removal = self._departures.remove(connection_id, "revoked")
        closed = self._departures.close_socket(connection_id)
        if removal is None and closed is Outcome.GONE:
            raise UnknownConnection(f"no open connection {brief(connection_id)!r}")
        return removal or Removal(connection_id=connection_id, user_id="", groups=[])

    def revoke_user(self, identity: Identity, user_id: str) -> list[str]:
        """An administrator closes every connection of one user; returns their ids."""
        self._access.require_admin(identity)
        closed: list[str] = []
        for page in self._connections.of_user(user_id):
            closed += [cid for cid in page if self._departures.close(cid, "revoked") is not None]
        return closed

    def _with_sweep_time(self, connection: Connection) -> Connection:
        """When the sweeper must look at the connection: at API Gateway's limit, or when its
        token (plus the grace) expires, whichever comes first."""
        due = connection.expires_at
        if connection.token_expires_at is not None:
            grace = timedelta(seconds=self._settings.token_expiry_grace_seconds)
            due = min(due, connection.token_expires_at + grace)
        return connection.model_copy(update={"sweep_at": due})
