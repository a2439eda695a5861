"""Who is calling. A plain frozen dataclass rather than a pydantic model: the authorizers
build one per handshake and must not import pydantic (docs/architecture.md, "Cold start").
realtime.domain.models re-exports it, and pydantic models may use it as a field type."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Who is calling: the token's `sub` and roles (its own and its scopes'), or the IAM
    principal of a SigV4-signed call with the roles IAM callers get."""

    user_id: str
    roles: frozenset[str] = frozenset()
    # When the token that proved it expires (None: not from a token, e.g. the event bus).
    expires_at: datetime | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_any_role(self, roles: Iterable[str]) -> bool:
        return not self.roles.isdisjoint(roles)
