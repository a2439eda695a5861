"""Bearer-token verification, shared by the WebSocket authorizer and the REST API.

Production: RS256/ES256 signatures checked against the issuer's JWKS (Cognito or any
OIDC provider). Local development: HS256 with a development-only secret. The allowed
algorithms come from the configuration, never from the token, so `alg: none` and an
HS256 token signed with a public key are always refused.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import jwt

from realtime.config import AuthSettings
from realtime.domain.models import Identity
from realtime.errors import Forbidden, Unauthorized

ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"]
LOCAL_ALGORITHMS = ["HS256"]


class TokenVerifier:
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings

    @cached_property
    def _jwks(self) -> jwt.PyJWKClient | None:
        if self.settings.jwks_url is None:
            return None
        # Keys are cached across invocations; an unknown `kid` triggers one refetch.
        return jwt.PyJWKClient(str(self.settings.jwks_url), cache_keys=True, lifespan=3600, timeout=5)

    def verify(self, token: str | None) -> Identity:
        """Return the token's identity, or raise Unauthorized. The token never appears
        in the error message (messages end up in logs)."""
        if not token:
            raise Unauthorized("a bearer token is required")
        try:
            key, algorithms = self._key_for(token)
            claims = jwt.decode(
                token,
                key=key,
                algorithms=algorithms,
                issuer=self.settings.issuer,
                leeway=self.settings.leeway_seconds,
                # The audience is checked below: Cognito access tokens carry it as client_id.
                options={"require": ["exp", "iss", "sub"], "verify_aud": False},
            )
            self._check_audience(claims)
        except jwt.PyJWKClientConnectionError as exc:
            raise Unauthorized("the token could not be verified: signing keys unavailable") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {type(exc).__name__}") from exc
        return Identity(user_id=str(claims["sub"]), roles=frozenset(self._roles(claims)))

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
            if not isinstance(audiences, list) or self.settings.audience not in audiences:
                raise jwt.InvalidAudienceError("audience doesn't match")
        elif not (claims.get("token_use") == "access" and claims.get("client_id") == self.settings.audience):
            raise jwt.MissingRequiredClaimError("aud")

    def _roles(self, claims: dict[str, Any]) -> list[str]:
        value = claims.get(self.settings.roles_claim, [])
        if isinstance(value, str):  # "admin ops" or "admin,ops"
            value = value.replace(",", " ").split()
        if not isinstance(value, list):
            return []
        return [role for role in value if isinstance(role, str) and role]


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
