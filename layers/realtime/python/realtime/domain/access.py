"""Who may do what: one rule per operation, applied identically on every face (WebSocket
actions, REST routes, the IAM routes, EventBridge ingestion). docs/protocol.md has it as a
table, and tests/integration/test_authorization_table.py checks every row on every face.

| operation | roles allowed |
|---|---|
| open a WebSocket | `CONNECT_ROLE`, `READER_ROLE` |
| read a group (subscribe, presence, history, counts, latest values) | the group's role (`GROUP_ROLES`), `READER_ROLE` |
| publish (to a group or a user, any face) | `PUBLISH_ROLE`, `PUBLISHER_ROLE` |
| a queued message's progress | those who may publish, or read the message's group |
| close connections (revoke) | `ADMIN_ROLE` |
| who am I (`GET /me`), ping, refresh | any valid token |

`READER_ROLE` and `PUBLISHER_ROLE` are the least-privilege roles services get from their
OAuth scopes (`realtime/read`, `realtime/publish`) or from IAM: a publisher cannot read
history, a reader cannot publish, and neither can close connections.

Reads that span groups (platform snapshot, connection counts, the group list) include
only the groups the caller may read.
"""

from __future__ import annotations

from collections.abc import Mapping

from realtime.domain.identity import Identity
from realtime.errors import Forbidden, UnknownGroup, brief


class AccessPolicy:
    def __init__(
        self,
        group_roles: Mapping[str, str],
        *,
        connect_role: str,
        publish_role: str,
        admin_role: str,
        reader_role: str,
        publisher_role: str,
    ) -> None:
        self.group_roles = dict(group_roles)
        self._read_roles = {group: _roles(role, reader_role) for group, role in self.group_roles.items()}
        self.connect_roles = connect_roles(connect_role, reader_role)
        self.publish_roles = _roles(publish_role, publisher_role)
        self.admin_roles = (admin_role,)

    def require_group(self, group: str) -> None:
        """UnknownGroup unless `group` is configured (checked before any role, so the answer
        for a group that does not exist is the same for everyone)."""
        if group not in self.group_roles:
            raise UnknownGroup(f"unknown group {brief(group)!r}; configured groups: {', '.join(self.group_roles)}")

    def can_read(self, identity: Identity, group: str) -> bool:
        return group in self._read_roles and identity.has_any_role(self._read_roles[group])

    def require_read(self, identity: Identity, group: str) -> None:
        self.require_group(group)
        _require(identity, self._read_roles[group], f"read group {group!r}")

    def readable_groups(self, identity: Identity) -> list[str]:
        return [group for group in self.group_roles if self.can_read(identity, group)]

    def can_connect(self, identity: Identity) -> bool:
        return identity.has_any_role(self.connect_roles)

    def require_connect(self, identity: Identity) -> None:
        _require(identity, self.connect_roles, "connect")

    def can_publish(self, identity: Identity) -> bool:
        return identity.has_any_role(self.publish_roles)

    def require_publish(self, identity: Identity) -> None:
        _require(identity, self.publish_roles, "publish")

    def require_progress(self, identity: Identity, group: str) -> None:
        if not (self.can_publish(identity) or self.can_read(identity, group)):
            raise Forbidden(f"{_named(self.publish_roles)} or the group's role is required to follow a message")

    def require_admin(self, identity: Identity) -> None:
        _require(identity, self.admin_roles, "close connections")


def connect_roles(connect_role: str, reader_role: str) -> tuple[str, ...]:
    """Who may open a WebSocket; the $connect authorizer applies it too (it has no hub)."""
    return _roles(connect_role, reader_role)


def _roles(*names: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))  # in order, without repeats


def _named(roles: tuple[str, ...]) -> str:
    if len(roles) == 1:
        return f"the {roles[0]!r} role"
    return "one of the roles " + ", ".join(repr(role) for role in roles)


def _require(identity: Identity, roles: tuple[str, ...], what: str) -> None:
    if not identity.has_any_role(roles):
        raise Forbidden(f"{_named(roles)} is required to {what}")
