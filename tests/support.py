"""Short hands for tests of the use cases (what the entrypoints do in a line)."""

from __future__ import annotations

from typing import Any

from realtime.bootstrap import Hub
from realtime.domain.models import Identity, PublishRequest, PublishResult, QueuedPublish


def publish(
    hub: Hub, identity: Identity, event_type: str, data: Any, *, group: str | None = None, user_id: str | None = None
) -> PublishResult | QueuedPublish:
    request = PublishRequest(group=group, user_id=user_id, type=event_type, data=data)
    return hub.publishing.publish(identity, request)


def snapshot(hub: Hub, identity: Identity) -> dict[str, Any]:
    """The platform snapshot as the entrypoints answer it."""
    counts, latest = hub.queries.snapshot(identity)
    return {
        "connections": counts.connections,
        "groups": counts.groups,
        "latest": {name: envelope.to_dict() for name, envelope in latest.items()},
    }
