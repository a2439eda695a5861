"""Read-only use cases: presence, counts, the platform snapshot, history pages, a queued
message's progress — each limited to what the caller's roles may read."""

from __future__ import annotations

from realtime.config import HubSettings
from realtime.domain.access import AccessPolicy
from realtime.domain.models import Counts, Envelope, Identity, MessageProgress, Presence
from realtime.domain.ports import Clock, Connections, FanoutProgress, LatestValues, Memberships, Streams
from realtime.errors import UnknownMessage
from realtime.payload import brief

PRESENCE_USER_IDS_LIMIT = 100


class Queries:
    def __init__(
        self,
        settings: HubSettings,
        access: AccessPolicy,
        connections: Connections,
        memberships: Memberships,
        streams: Streams,
        latest: LatestValues,
        progress: FanoutProgress,
        clock: Clock,
    ) -> None:
        self._settings = settings
        self._access = access
        self._connections = connections
        self._memberships = memberships
        self._streams = streams
        self._latest = latest
        self._progress = progress
        self._clock = clock

    def presence(self, identity: Identity, group: str, *, with_user_ids: bool = False) -> Presence:
        self._access.require_read(identity, group)
        user_ids = self._memberships.users(group)
        state = self._streams.state(group)
        return Presence(
            group=group,
            connections=self._memberships.counts([group]).groups[group],
            users=len(user_ids),
            last_seq=state.seq,
            epoch=state.epoch,
            user_ids=sorted(user_ids) if with_user_ids and len(user_ids) <= PRESENCE_USER_IDS_LIMIT else None,
        )

    def readable_groups(self, identity: Identity) -> list[str]:
        return self._access.readable_groups(identity)

    def counts(self, identity: Identity | None = None) -> Counts:
        """Open connections, and members of each group the caller may read (None: every
        group — the system's own view, for tests and tools)."""
        groups = list(self._settings.group_roles) if identity is None else self._access.readable_groups(identity)
        return self._memberships.counts(groups)

    def connection_count(self) -> int:
        return self._connections.count()

    def snapshot(self, identity: Identity) -> tuple[Counts, dict[str, Envelope]]:
        """Counts and the latest envelope of every event type — of the groups the caller may
        read only."""
        counts = self.counts(identity)
        latest = {
            name: envelope
            for name, envelope in sorted(self._latest.all().items())
            if envelope.group is not None and envelope.group in counts.groups
        }
        return counts, latest

    def history(self, identity: Identity, group: str, after: int, limit: int) -> tuple[list[Envelope], int | None]:
        """A page of the group's history and the `after` of the next page (None at the end)."""
        self._access.require_read(identity, group)
        page = self._streams.history(group, after, limit, self._clock.now())
        return page.items, (page.last_seq if page.more else None)

    def message_progress(self, identity: Identity, message_id: str) -> MessageProgress:
        progress = self._progress.message_progress(message_id) if len(message_id) <= 64 else None
        if progress is None:
            raise UnknownMessage(
                f"no queued message {brief(message_id)!r} (inline publishes answer with their counts; "
                "progress is kept for 24 hours)"
            )
        self._access.require_progress(identity, progress.group)
        return progress
