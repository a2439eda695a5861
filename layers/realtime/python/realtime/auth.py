"""Bearer-token verification, shared by the WebSocket authorizer, the `refresh` action
and the REST API.

Production: RS256/ES256 signatures checked against the issuer's JWKS (Cognito or any
OIDC provider). Local development: HS256 with a development-only secret. The allowed
algorithms come from the configuration, never from the token, so `alg: none` and an
HS256 token signed with a public key are always refused; `jku`, `x5u` and `jwk` headers
are never followed (keys come only from the configured JWKS, by `kid`).

Identity rules, enforced here so that every face sees the same identities:
- `sub` is 1-256 characters of `A-Z a-z 0-9 . _ : @ + = / ~ | -` (it becomes part of
  DynamoDB keys and log lines);
- role names match `ROLE_NAME_PATTERN` (no separators: a role can never be read as two);
  a name that does not is ignored, and at most `MAX_ROLES` roles are read;
- OAuth scopes (client-credentials tokens of services) grant the roles `JWT_SCOPE_ROLES`
  maps them to (`realtime/publish` → publisher, `realtime/read` → reader by default);
- a token is at most `MAX_TOKEN_BYTES` long; `exp`, `iss` and `sub` are required, `nbf`
  and `iat` must not be in the future (both with the configured leeway).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import jwt

# No pydantic here (nor in what these import): the authorizers' cold start.
from realtime.auth_config import AuthSettings
from realtime.domain.identity import Identity
from realtime.errors import Forbidden, Unauthorized
from realtime.roles import valid_role_name

ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"]
LOCAL_ALGORITHMS = ["HS256"]
SUBJECT_PATTERN = r"^[A-Za-z0-9._:@+=/~|-]{1,256}$"
_SUBJECT = re.compile(SUBJECT_PATTERN)
MAX_TOKEN_BYTES = 8192
MAX_ROLES = 100


class TokenVerifier:
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient | None:
        if self.settings.jwks_url is None:
            return None
        # Keys are cached across invocations; an unknown `kid` triggers one refetch.
        return jwt.PyJWKClient(self.settings.jwks_url, cache_keys=True, lifespan=3600, timeout=5)

    def verify(self, token: str | None) -> Identity:
        """Return the token's identity, or raise Unauthorized. The token never appears
        in the error message (messages end up in logs)."""
        if not token:
            raise Unauthorized("a bearer token is required")
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthorized(f"invalid token: longer than {MAX_TOKEN_BYTES} bytes")
        try:
            key, algorithms = self._key_for(token)
            claims = jwt.decode(
                token,
                key=key,
                algorithms=algorithms,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                # The audience is checked below: Cognito access tokens carry it as client_id.
                options={"require": ["exp", "iss", "sub"], "verify_aud": False, "verify_iat": True},
            )
            self._check_audience(claims)
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthorized("the token could not be verified: signing keys unavailable") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {type(exc).__name__}") from exc
        except (ValueError, TypeError) as exc:  # a header or claim of an unexpected shape
            raise Unauthorized("invalid token: malformed") from exc
        subject = claims["sub"]
        if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
            raise Unauthorized("invalid token: sub must be 1-256 characters of letters, digits and . _ : @ + = / ~ | -")
        return Identity(
            user_id=subject,
            roles=frozenset(self._roles(claims)),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        )

    def require(self, token: str | None, role: str) -> Identity:
        identity = self.verify(token)
        if not identity.has_role(role):
            raise Forbidden(f"the {role!r} role is required")
        return identity

    def _key_for(self, token: str) -> tuple[Any, list[str]]:
        if self._jwks is not None:
            return self._jwks.get_signing_key_from_jwt(token).key, ASYMMETRIC_ALGORITHMS
        assert self.settings.hs256_secret is not None  # guaranteed by AuthSettings
        return self.settings.hs256_secret.get_secret_value(), LOCAL_ALGORITHMS

    def _check_audience(self, claims: dict[str, Any]) -> None:
        audience = claims.get("aud")
        if audience is not None:
            audiences = [audience] if isinstance(audience, str) else audience
            if not isinstance(audiences, list) or not set(self.settings.audiences).intersection(audiences):
                raise jwt.InvalidAudienceError("audience doesn't match")
        elif not (claims.get("token_use") == "access" and claims.get("client_id") in self.settings.audiences):
            raise jwt.MissingRequiredClaimError("aud")

    def _roles(self, claims: dict[str, Any]) -> list[str]:
        """The roles claim's roles, and those the token's scopes grant (a client-credentials
        token has scopes and no roles)."""
        # Roles: "admin ops" or "admin,ops" as the issuer signed it; scopes: RFC 6749's
        # space-separated list (a comma may be part of a scope, so it never splits one).
        roles = _names(claims.get(self.settings.roles_claim), commas_separate=True)
        scopes = _names(claims.get(self.settings.scopes_claim), commas_separate=False)
        mapping = self.settings.scope_roles
        granted = [role for scope in scopes if isinstance(scope, str) for role in mapping.get(scope, [])]
        return [role for role in roles if isinstance(role, str) and valid_role_name(role)] + granted


def _names(value: object, *, commas_separate: bool) -> list[object]:
    """A claim of names: a list, or a string of them. At most MAX_ROLES are read."""
    if isinstance(value, str):
        value = (value.replace(",", " ") if commas_separate else value).split()
    return list(value[:MAX_ROLES]) if isinstance(value, list) else []


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
