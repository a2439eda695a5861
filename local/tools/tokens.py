"""Mint local development tokens: `python -m local.tools.tokens --sub alice --roles admin`
(or `make -s token SUB=alice ROLES=admin`), or a service's client-credentials access token
with `--scopes "realtime/publish"` (`make -s token SCOPES=realtime/publish`), shaped like
Cognito's: `sub` and `client_id` are the app client, `scope` its scopes, no `aud` and no
roles. Prints the JWT and nothing else."""

from __future__ import annotations

import argparse
import time

import jwt

from local.runner.settings import LOCAL_AUDIENCE, LOCAL_DEV_SIGNING_SECRET, LOCAL_ISSUER, LOCAL_SERVICE_CLIENT_ID


def mint_token(
    sub: str,
    roles: list[str] | tuple[str, ...] = ("admin",),
    *,
    ttl_seconds: int = 8 * 3600,
    issuer: str = LOCAL_ISSUER,
    audience: str = LOCAL_AUDIENCE,
    secret: str = LOCAL_DEV_SIGNING_SECRET,
    extra_claims: dict[str, object] | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": sub,
        "roles": list(roles),
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
        **(extra_claims or {}),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def mint_service_token(
    scopes: list[str] | tuple[str, ...],
    *,
    client_id: str = LOCAL_SERVICE_CLIENT_ID,
    ttl_seconds: int = 3600,
    issuer: str = LOCAL_ISSUER,
    secret: str = LOCAL_DEV_SIGNING_SECRET,
) -> str:
    """An access token of the client-credentials grant, as Cognito issues them."""
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": client_id,
        "client_id": client_id,
        "token_use": "access",
        "scope": " ".join(scopes),
        "iss": issuer,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print a local development JWT.")
    parser.add_argument("--sub", default="alice", help="the user id (sub claim)")
    parser.add_argument("--roles", default="admin", help="comma-separated roles; may be empty")
    parser.add_argument(
        "--scopes",
        default="",
        help="space- or comma-separated OAuth scopes, e.g. realtime/publish: a service's client-credentials "
        f"token (sub and client_id {LOCAL_SERVICE_CLIENT_ID!r}; --sub and --roles are not used)",
    )
    parser.add_argument("--ttl", type=int, default=None, help="lifetime in seconds (default: 8 h; services 1 h)")
    args = parser.parse_args(argv)
    scopes = args.scopes.replace(",", " ").split()
    if scopes:
        print(mint_service_token(scopes, ttl_seconds=args.ttl or 3600))
        return
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    print(mint_token(args.sub, roles, ttl_seconds=args.ttl or 8 * 3600))


if __name__ == "__main__":
    main()
