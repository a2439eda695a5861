"""Mint local development tokens: `python -m local.tools.tokens --sub alice --roles admin`
(or `make -s token SUB=alice ROLES=admin`). Prints the JWT and nothing else."""

from __future__ import annotations

import argparse
import time

import jwt

from local.runner.settings import LOCAL_AUDIENCE, LOCAL_DEV_SIGNING_SECRET, LOCAL_ISSUER


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Print a local development JWT.")
    parser.add_argument("--sub", default="alice", help="the user id (sub claim)")
    parser.add_argument("--roles", default="admin", help="comma-separated roles; may be empty")
    parser.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds")
    args = parser.parse_args(argv)
    roles = [role.strip() for role in args.roles.split(",") if role.strip()]
    print(mint_token(args.sub, roles, ttl_seconds=args.ttl))


if __name__ == "__main__":
    main()
