"""Who may do what: one rule per operation, applied identically on every face (WebSocket
actions, REST routes, EventBridge ingestion). docs/protocol.md has it as a table, and
tests/unit/test_authorization_table.py checks every row against every face.

| operation | role required |
|---|---|
| open a WebSocket | `CONNECT_ROLE` |
| read a group: subscribe, presence, history, its counts and its latest values | the group's role (`GROUP_ROLES`) |
| publish (to a group or a user, any face) | `PUBLISH_ROLE` |
| a queued message's progress | `PUBLISH_ROLE`, or the role of the message's group |
| close connections (revoke) | `ADMIN_ROLE` |
| who am I (`GET /me`), ping, refresh | any valid token |

Reads that span groups (platform snapshot, connection counts, the group list) include
only the groups the caller may read.
"""

from __future__ import annotations

from collections.abc import Mapping

from realtime.domain.models import Identity
from realtime.errors import Forbidden, UnknownGroup
from realtime.payload import brief


class AccessPolicy:
    def __init__(
        self, group_roles: Mapping[str, str], *, connect_role: str, publish_role: str, admin_role: str
    ) -> None:
        self.group_roles = dict(group_roles)
        self.connect_role = connect_role
        self.publish_role = publish_role
        self.admin_role = admin_role

    def require_group(self, group: str) -> None:
        """UnknownGroup unless `group` is configured (checked before any role, so the answer
        for a group that does not exist is the same for everyone)."""
        if group not in self.group_roles:
            raise UnknownGroup(f"unknown group {brief(group)!r}; configured groups: {', '.join(self.group_roles)}")

    def can_read(self, identity: Identity, group: str) -> bool:
        return group in self.group_roles and identity.has_role(self.group_roles[group])

    def require_read(self, identity: Identity, group: str) -> None:
        self.require_group(group)
        _require(identity, self.group_roles[group], f"read group {group!r}")

    def readable_groups(self, identity: Identity) -> list[str]:
        return [group for group in self.group_roles if self.can_read(identity, group)]

    def require_connect(self, identity: Identity) -> None:
        _require(identity, self.connect_role, "connect")

    def can_publish(self, identity: Identity) -> bool:
        return identity.has_role(self.publish_role)

    def require_publish(self, identity: Identity) -> None:
        _require(identity, self.publish_role, "publish")

    def require_progress(self, identity: Identity, group: str) -> None:
        if not (self.can_publish(identity) or self.can_read(identity, group)):
            raise Forbidden(f"the {self.publish_role!r} role or the group's role is required to follow a message")

    def require_admin(self, identity: Identity) -> None:
        _require(identity, self.admin_role, "close connections")


def _require(identity: Identity, role: str, what: str) -> None:
    if not identity.has_role(role):
        raise Forbidden(f"the {role!r} role is required to {what}")
