"""How bearer tokens are verified (`AuthSettings`), validated by hand from the environment.

The one settings class that is not a pydantic model (realtime/config.py re-exports it): the
authorizers load it at every cold start, on the WebSocket handshake's path, and importing
pydantic there would cost them about half their init (docs/architecture.md, "Cold start").
The rules are those a pydantic model would enforce, and one error names every offending
variable; the HS256 secret's value never appears in a repr or an error.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, Final
from urllib.parse import urlsplit

from realtime.roles import DEFAULT_SCOPE_ROLES, READER_ROLE, SCOPE_PATTERN, valid_role_name

MAX_AUDIENCES = 100
MAX_SCOPE_ROLES = 100
MIN_SECRET_LENGTH = 32
MAX_LEEWAY_SECONDS = 300
MAX_URL_LENGTH = 2083  # what pydantic's AnyHttpUrl allows
_SCOPE = re.compile(SCOPE_PATTERN)
_ONE_KEY_SOURCE = "set exactly one of JWT_JWKS_URL (production) or JWT_HS256_SECRET (local)"


class SettingsError(ValueError):
    """The environment does not configure token verification correctly: one message
    naming every offending variable (never a secret's value)."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems = dict(problems)
        listed = "; ".join(f"{name}: {problem}" for name, problem in self.problems.items())
        super().__init__(f"invalid token verification settings ({len(self.problems)}): {listed}")


class Secret:
    """A secret string that never shows itself: repr and str are masked (as pydantic's
    SecretStr, whose `get_secret_value()` it keeps)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)


def _default_scope_roles() -> dict[str, list[str]]:
    return {scope: list(roles) for scope, roles in DEFAULT_SCOPE_ROLES.items()}


def _variable(name: str, *, required: bool = False) -> dict[str, Any]:
    return {"variable": name, "required": required}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthSettings:
    """How bearer tokens are verified (authorizers, the `refresh` action, the REST API).
    Each field's environment variable is in its metadata (`variables()`)."""

    issuer: str = field(metadata=_variable("JWT_ISSUER", required=True))
    # Every client a token may be for, separated by spaces: the dashboard's, and each
    # service's app client (Cognito access tokens name theirs in `client_id`).
    audiences: tuple[str, ...] = field(metadata=_variable("JWT_AUDIENCE", required=True))
    # Production: RS256/ES256 keys from the issuer's JWKS (Cognito or any OIDC issuer).
    jwks_url: str | None = field(default=None, metadata=_variable("JWT_JWKS_URL"))
    # Local development only: HS256 with a shared secret. Never set in a deployed stack.
    hs256_secret: Secret | None = field(default=None, metadata=_variable("JWT_HS256_SECRET"))
    roles_claim: str = field(default="roles", metadata=_variable("JWT_ROLES_CLAIM"))
    # OAuth scopes (client credentials): the claim that carries them (`scope`, a string of
    # space-separated scopes, in Cognito's and most issuers' tokens; `scp` in some, often a
    # list), and the roles each scope grants — added to those of the roles claim.
    scopes_claim: str = field(default="scope", metadata=_variable("JWT_SCOPES_CLAIM"))
    scope_roles: dict[str, list[str]] = field(
        default_factory=_default_scope_roles, metadata=_variable("JWT_SCOPE_ROLES")
    )
    connect_role: str = field(default="admin", metadata=_variable("CONNECT_ROLE"))
    reader_role: str = field(default=READER_ROLE, metadata=_variable("READER_ROLE"))
    leeway_seconds: int = field(default=30, metadata=_variable("JWT_LEEWAY_SECONDS"))

    @classmethod
    def variables(cls, *, required_only: bool = False) -> dict[str, str]:
        """Field name → its environment variable."""
        return {f.name: f.metadata["variable"] for f in fields(cls) if f.metadata["required"] or not required_only}

    @classmethod
    def default(cls, name: str) -> Any:
        """A field's default (a fresh copy of a mutable one)."""
        (found,) = (f for f in fields(cls) if f.name == name)
        return found.default_factory() if callable(found.default_factory) else found.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthSettings:
        """Read and check the environment; raise SettingsError naming every bad variable.
        Empty variables count as unset (a template may leave optional ones blank); other
        variables are ignored."""
        env = os.environ if environ is None else environ
        raw = {name: env[name] for name in cls.variables().values() if env.get(name, "") != ""}
        problems: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name, variable in cls.variables().items():
            if variable not in raw:
                if name in cls.variables(required_only=True):
                    problems[variable] = "required"
                continue
            try:
                values[name] = _PARSERS[name](raw[variable])
            except ValueError as exc:
                problems[variable] = str(exc)
        sources = problems.keys() & {"JWT_JWKS_URL", "JWT_HS256_SECRET"}
        if not sources and ("jwks_url" in values) == ("hs256_secret" in values):
            problems["JWT_JWKS_URL, JWT_HS256_SECRET"] = _ONE_KEY_SOURCE
        if problems:
            raise SettingsError(problems)
        return cls(**values)


def _audiences(value: str) -> tuple[str, ...]:
    audiences = tuple(value.split())
    if not 1 <= len(audiences) <= MAX_AUDIENCES:
        raise ValueError(f"1 to {MAX_AUDIENCES} audiences separated by spaces")
    return audiences


def _http_url(value: str) -> str:
    url = value.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not host or len(url) > MAX_URL_LENGTH:
        raise ValueError(f"an http(s) URL with a host, at most {MAX_URL_LENGTH} characters")
    return url if parts.path or parts.query or parts.fragment else f"{url}/"


def _secret(value: str) -> Secret:
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(f"JWT_HS256_SECRET must be at least {MIN_SECRET_LENGTH} characters")
    return Secret(value)


def _text(value: str) -> str:
    return value


def _role(value: str) -> str:
    if not valid_role_name(value):
        raise ValueError("a role name: 1-64 letters, digits or . _ : / @ + -")
    return value


def _scope_roles(value: str) -> dict[str, list[str]]:
    try:
        mapping = json.loads(value)
    except ValueError:
        raise ValueError("not valid JSON") from None
    if not isinstance(mapping, dict):
        raise ValueError('a JSON object of scope → role or roles, e.g. {"realtime/read": "reader"}')
    if len(mapping) > MAX_SCOPE_ROLES:
        raise ValueError(f"at most {MAX_SCOPE_ROLES} scopes")
    parsed: dict[str, list[str]] = {}
    for scope, roles in mapping.items():  # a scope may grant one role ("reader") or several
        listed = [roles] if isinstance(roles, str) else roles
        if not _SCOPE.fullmatch(scope):
            raise ValueError(f"scope {scope[:64]!r} is not 1-256 printable characters without spaces, quotes or \\")
        if not isinstance(listed, list) or not all(valid_role_name(role) for role in listed):
            raise ValueError(f"scope {scope[:64]!r}: a role name or a list of them (1-64 letters, digits or ._:/@+-)")
        parsed[scope] = listed
    return parsed


def _leeway(value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        try:
            decimal = float(value)
        except ValueError:
            raise ValueError("an integer number of seconds") from None
        if not decimal.is_integer():
            raise ValueError("an integer number of seconds") from None
        number = int(decimal)
    if not 0 <= number <= MAX_LEEWAY_SECONDS:
        raise ValueError(f"0 to {MAX_LEEWAY_SECONDS} seconds")
    return number


_PARSERS: Final[dict[str, Any]] = {
    "issuer": _text,
    "audiences": _audiences,
    "jwks_url": _http_url,
    "hs256_secret": _secret,
    "roles_claim": _text,
    "scopes_claim": _text,
    "scope_roles": _scope_roles,
    "connect_role": _role,
    "reader_role": _role,
    "leeway_seconds": _leeway,
}


@cache
def auth_settings() -> AuthSettings:
    return AuthSettings.from_env()
