"""`realtime-hub`: the operator's command line for the real-time hub.

    realtime-hub publish Alert --group alerts title=Disk message="91% full" severity=warning
    realtime-hub tail alerts analytics --since 40
    realtime-hub stats | presence alerts | history alerts --after 40 | token --sub ops | token --scopes realtime/read

Configuration, first found wins: flags, environment (REALTIME_HUB_*), the profile file
(TOML; --config / REALTIME_HUB_CONFIG, default ~/.config/realtime-hub/config.toml; section
--profile / REALTIME_HUB_PROFILE, default "default"), then the local stack's URLs.

Exit codes: 0 done; 1 the hub refused (4xx: invalid, unauthorized, forbidden, unknown...);
2 usage (bad arguments, data the event model refuses before sending); 3 the hub is
unavailable (network, 5xx, retries exhausted); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import sys
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

import httpx
import pydantic

from realtime.domain.event_types import EVENT_TYPES
from realtime_hub._core import LOCAL_REST_URL, LOCAL_WS_URL
from realtime_hub.auth import AuthError, ClientCredentials, SigV4, StaticToken
from realtime_hub.client import AsyncHub, Hub
from realtime_hub.errors import ApiError, HubError, TransportError

OK, REFUSED, USAGE, UNAVAILABLE, INTERRUPTED = 0, 1, 2, 3, 130
EPILOG = """\
exit codes: 0 done; 1 the hub refused the request (4xx); 2 usage error (including data the
event model refuses); 3 the hub is unavailable (network, 5xx); 130 interrupted (Ctrl-C).

configuration (first found wins): flags, REALTIME_HUB_* environment variables, the
profile file (TOML), then the local stack (http://127.0.0.1:8000/api/admin/realtime,
ws://127.0.0.1:8000/ws; with no credentials against a loopback URL, a local admin
token is minted when the repository's local/ tooling is importable)."""

SETTINGS = {
    # name: (environment variable, help)
    "rest_url": ("REALTIME_HUB_REST_URL", "the REST API's base URL"),
    "ws_url": ("REALTIME_HUB_WS_URL", "the WebSocket URL (without the token)"),
    "token": ("REALTIME_HUB_TOKEN", "a bearer token (JWT)"),
    "token_url": ("REALTIME_HUB_TOKEN_URL", "OAuth2 token endpoint, for client credentials"),
    "client_id": ("REALTIME_HUB_CLIENT_ID", "OAuth2 client id"),
    "client_secret": ("REALTIME_HUB_CLIENT_SECRET", "OAuth2 client secret (prefer the environment)"),
    "scopes": ("REALTIME_HUB_SCOPES", "OAuth2 scopes, space-separated"),
    "sigv4_region": ("REALTIME_HUB_SIGV4_REGION", "sign REST calls with SigV4 for this region (IAM auth)"),
}


class Usage(Exception):
    """A usage error: exit code 2."""


@dataclass
class Config:
    rest_url: str
    ws_url: str
    auth: httpx.Auth | None
    json: bool


def config_path(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("REALTIME_HUB_CONFIG"):
        return Path(os.environ["REALTIME_HUB_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "realtime-hub" / "config.toml"


def load_profile(path: Path, name: str, *, required: bool) -> dict[str, Any]:
    if not path.is_file():
        if required:
            raise Usage(f"no profile file at {path}")
        return {}
    try:
        profiles = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise Usage(f"cannot read the profile file {path}: {exc}") from exc
    profile = profiles.get(name)
    if profile is None:
        if required:
            raise Usage(f"no profile [{name}] in {path}")
        return {}
    if not isinstance(profile, dict):
        raise Usage(f"[{name}] in {path} is not a table")
    unknown = set(profile) - set(SETTINGS)
    if unknown:
        raise Usage(f"[{name}] in {path}: unknown setting(s) {', '.join(sorted(unknown))}")
    return profile


def resolve(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    profile_name = getattr(args, "profile", None) or env.get("REALTIME_HUB_PROFILE")
    explicit = getattr(args, "config", None) or env.get("REALTIME_HUB_CONFIG")
    profile = load_profile(config_path(explicit), profile_name or "default", required=bool(profile_name))

    def setting(name: str) -> Any:
        value = getattr(args, name, None)
        if value is None:
            value = env.get(SETTINGS[name][0]) or None
        if value is None:
            value = profile.get(name)
        return value

    rest_url = setting("rest_url") or LOCAL_REST_URL
    ws_url = setting("ws_url") or LOCAL_WS_URL
    return Config(rest_url=rest_url, ws_url=ws_url, auth=_auth(setting, rest_url), json=bool(args.json))


def _auth(setting: Callable[[str], Any], rest_url: str) -> httpx.Auth | None:
    if setting("token"):
        return StaticToken(str(setting("token")))
    client_id, client_secret, token_url = setting("client_id"), setting("client_secret"), setting("token_url")
    if client_id or client_secret:
        if not (client_id and client_secret and token_url):
            raise Usage("client credentials need --client-id, --client-secret and --token-url")
        scopes = setting("scopes") or []
        scope_list = scopes.split() if isinstance(scopes, str) else [str(s) for s in scopes]
        return ClientCredentials(str(token_url), str(client_id), str(client_secret), scope_list)
    if setting("sigv4_region"):
        return SigV4(str(setting("sigv4_region")))
    if urlsplit(rest_url).hostname in ("127.0.0.1", "localhost", "::1"):
        minted = local_token("realtime-hub-cli", ["admin"], 8 * 3600, required=False)
        if minted is not None:
            return StaticToken(minted)
    return None


def local_token(sub: str, roles: list[str], ttl: int, *, required: bool) -> str | None:
    """A local development token, minted by the repository's local/tools/tokens.py."""
    try:
        tokens = _local_tokens_module_or_usage()
    except Usage:
        if required:
            raise
        return None
    token: str = tokens.mint_token(sub, roles, ttl_seconds=ttl)
    return token


def _local_tokens_module_or_usage() -> Any:
    try:
        return _local_tokens_module()
    except ImportError as exc:
        raise Usage(
            "`token` mints local development tokens only: run it from the repository "
            f"(with its virtualenv; needs local/tools/tokens.py and PyJWT): {exc}"
        ) from exc


def _local_tokens_module() -> Any:
    try:
        return importlib.import_module("local.tools.tokens")
    except ImportError:
        pass
    # An editable install in the repository: clients/python/src/realtime_hub/cli.py -> the root.
    for root in (Path.cwd(), Path(__file__).resolve().parents[4]):
        if (root / "local" / "tools" / "tokens.py").is_file():
            for path in (root, root / "layers" / "realtime" / "python"):
                if str(path) not in sys.path:
                    sys.path.append(str(path))
            return importlib.import_module("local.tools.tokens")
    raise ImportError("local.tools.tokens is not importable here")


# --- output -------------------------------------------------------------------------------
def emit(value: Any, config: Config, out: TextIO) -> None:
    if config.json:
        out.write(json.dumps(value, separators=(",", ":"), ensure_ascii=False) + "\n")
    else:
        out.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def dump(model: pydantic.BaseModel) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")


# --- commands -------------------------------------------------------------------------------
def parse_fields(fields: Sequence[str], data_json: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if data_json is not None:
        try:
            loaded = json.loads(data_json)
        except ValueError as exc:
            raise Usage(f"--data is not JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise Usage("--data must be a JSON object")
        data.update(loaded)
    for field in fields:
        if ":=" in field and ("=" not in field or field.index(":=") < field.index("=")):
            key, raw = field.split(":=", 1)
            try:
                data[key] = json.loads(raw)
            except ValueError as exc:
                raise Usage(f"{field!r}: the value after := must be JSON: {exc}") from exc
        elif "=" in field:
            key, value = field.split("=", 1)
            data[key] = value
        else:
            raise Usage(f"{field!r}: expected key=value (text) or key:=json")
        if not key:
            raise Usage(f"{field!r}: empty key")
    return data


def cmd_publish(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    if args.type not in EVENT_TYPES:
        raise Usage(f"unknown event type {args.type!r}; one of: {', '.join(EVENT_TYPES)}")
    if args.group and args.user:
        raise Usage("--group or --user, not both")
    model, default_group = EVENT_TYPES[args.type]
    raw = parse_fields(args.fields, args.data)
    try:
        data = model.model_validate(raw)
    except pydantic.ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in e['loc']) or '(data)'}: {e['msg']}" for e in exc.errors()]
        raise Usage(f"invalid data for {args.type}:\n" + "\n".join(lines)) from exc
    with Hub(config.rest_url, auth=config.auth) as hub:
        published = hub.publish(
            data,
            group=None if args.user else (args.group or default_group),
            user_id=args.user,
            idempotency_key=args.idempotency_key,
        )
        emit(dump(published), config, out)
        if args.wait and published.queued:
            emit(dump(hub.wait_until_done(published, timeout=args.wait_timeout)), config, out)
    return OK


def cmd_stats(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    with Hub(config.rest_url, auth=config.auth) as hub:
        snapshot = hub.platform_snapshot()
    if config.json:
        emit(dump(snapshot), config, out)
        return OK
    out.write(f"connections: {snapshot.connections}\n")
    _table([["GROUP", "MEMBERS"], *([g, str(n)] for g, n in sorted(snapshot.groups.items()))], out)
    if snapshot.latest:
        rows = [["LATEST", "GROUP", "SEQ", "TS"]]
        for kind, env in sorted(snapshot.latest.items()):
            rows.append([kind, env.group or f"user {env.user_id}", str(env.seq), env.ts])
        out.write("\n")
        _table(rows, out)
    return OK


def cmd_presence(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    with Hub(config.rest_url, auth=config.auth) as hub:
        presence = hub.presence(args.group)
    if config.json:
        emit(dump(presence), config, out)
        return OK
    out.write(
        f"{presence.group}: {presence.connections} connection(s), {presence.users} user(s), "
        f"last seq {presence.last_seq} (epoch {presence.epoch})\n"
    )
    if presence.user_ids:
        out.write("users: " + ", ".join(presence.user_ids) + "\n")
    return OK


def cmd_history(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    with Hub(config.rest_url, auth=config.auth) as hub:
        for count, envelope in enumerate(hub.history(args.group, after=args.after), start=1):
            if config.json:
                out.write(envelope.to_json() + "\n")
            else:
                data = json.dumps(envelope.data, ensure_ascii=False)
                out.write(f"{envelope.seq:>6}  {envelope.ts}  {envelope.type}  {data}\n")
            if args.limit is not None and count >= args.limit:
                break
    return OK


def cmd_token(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    scopes = str(getattr(args, "scopes", None) or "").replace(",", " ").split()
    if scopes:  # --scopes: a service's client-credentials token, as Cognito issues them
        token = _local_tokens_module_or_usage().mint_service_token(scopes, ttl_seconds=args.ttl)
    else:
        roles = [role.strip() for role in args.roles.split(",") if role.strip()]
        token = local_token(args.sub, roles, args.ttl, required=True)
    out.write(f"{token}\n")
    return OK


def cmd_tail(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    from realtime_hub.subscriber import Subscriber

    auth = config.auth
    if isinstance(auth, SigV4):
        raise Usage("tail needs a token (the WebSocket authenticates with a JWT): --token or client credentials")

    async def bearer() -> str | None:
        if isinstance(auth, StaticToken | ClientCredentials):
            return await asyncio.to_thread(auth.bearer)
        return None

    def report(message: str) -> None:
        if not args.quiet:
            sys.stderr.write(f"realtime-hub: {message}\n")
            sys.stderr.flush()

    async def run() -> None:
        async with AsyncHub(config.rest_url, auth=auth) as hub:
            subscriber = Subscriber(config.ws_url, args.groups, token=bearer, hub=hub, since=args.since, report=report)
            async for envelope in subscriber:
                out.write(envelope.to_json() + "\n")
                out.flush()

    asyncio.run(run())
    return OK


# --- the parser ----------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    options = common.add_argument_group("connection and output")
    for name, (variable, text) in SETTINGS.items():
        flag = "--" + name.replace("_", "-")
        if name == "scopes":
            flag = "--scopes"
        options.add_argument(flag, dest=name, default=argparse.SUPPRESS, help=f"{text} [{variable}]")
    options.add_argument("--profile", default=argparse.SUPPRESS, help="profile file section [REALTIME_HUB_PROFILE]")
    options.add_argument("--config", default=argparse.SUPPRESS, help="profile file path [REALTIME_HUB_CONFIG]")
    options.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output (JSON, one per line)"
    )

    kinds = argparse.RawDescriptionHelpFormatter
    main = argparse.ArgumentParser(
        prog="realtime-hub",
        description="Operate the real-time hub: publish, tail, inspect.",
        epilog=EPILOG,
        formatter_class=kinds,
        parents=[common],
    )
    commands = main.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, text: str, description: str | None = None) -> argparse.ArgumentParser:
        return commands.add_parser(
            name, help=text, description=description or text, epilog=EPILOG, formatter_class=kinds, parents=[common]
        )

    publish = command(
        "publish",
        "publish one event; prints the hub's answer as JSON",
        "Publish one event. Fields: key=value (text) or key:=json (numbers, booleans, objects),\n"
        "over --data. The data is checked by the event's model (the server's) before sending.\n"
        f"Types: {', '.join(EVENT_TYPES)}.\n\n"
        "  realtime-hub publish Alert title=Disk message='91% full' severity=warning\n"
        "  realtime-hub publish UserCountUpdate totalUsers:=1200 activeUsers:=87\n"
        '  realtime-hub publish TestMessage --user alice --data \'{"message":"hi"}\'',
    )
    publish.add_argument("type", help="the event type, e.g. Alert")
    publish.add_argument("fields", nargs="*", metavar="key=value", help="data fields (key:=json for non-text)")
    publish.add_argument("--data", help="the data as a JSON object")
    publish.add_argument("--group", help="the group (default: the event type's default group)")
    publish.add_argument("--user", help="publish to every connection of this user instead of a group")
    publish.add_argument("--idempotency-key", help="the key (default: generated, reused by every retry)")
    publish.add_argument("--wait", action="store_true", help="for a queued fan-out, wait until it is done")
    publish.add_argument("--wait-timeout", type=float, default=300.0, help="seconds --wait waits at most (300)")
    publish.set_defaults(handler=cmd_publish)

    tail = command(
        "tail",
        "print the envelopes of groups as JSON lines, live, resuming across reconnects",
        "Subscribe to groups and print every envelope as one JSON line, in seq order per group.\n"
        "Reconnects after a drop and resumes with no gap and no duplicate (the hub replays, the\n"
        "REST history fills what it cannot). Status goes to stderr. Ctrl-C stops (exit 130).",
    )
    tail.add_argument("groups", nargs="+", metavar="group")
    tail.add_argument("--since", type=int, help="start after this seq: print the stored messages after it first")
    tail.add_argument("--quiet", action="store_true", help="no status lines on stderr")
    tail.set_defaults(handler=cmd_tail)

    stats = command("stats", "connections, members per group and the latest event of each type")
    stats.set_defaults(handler=cmd_stats)

    presence = command("presence", "who is in a group: connections, users, last seq")
    presence.add_argument("group")
    presence.set_defaults(handler=cmd_presence)

    history = command("history", "the stored messages of a group, oldest first")
    history.add_argument("group")
    history.add_argument("--after", type=int, default=0, help="only messages with a greater seq (0)")
    history.add_argument("--limit", type=int, help="at most this many messages")
    history.set_defaults(handler=cmd_history)

    token = command("token", "print a local development token (local stack only; run from the repository)")
    token.add_argument("--sub", default="alice", help="the user id (alice)")
    token.add_argument("--roles", default="admin", help="comma-separated roles, may be empty (admin)")
    token.add_argument("--ttl", type=int, default=8 * 3600, help="lifetime in seconds (28800)")
    token.set_defaults(handler=cmd_token)
    return main


def _fail(message: str, code: int, args: argparse.Namespace | None, error: ApiError | None = None) -> int:
    if args is not None and getattr(args, "json", False):
        body: dict[str, Any] = {"error": message}
        if error is not None:
            body = {"status": error.status, "code": error.code, "message": error.message, "errors": error.errors}
        sys.stderr.write(json.dumps(body) + "\n")
    else:
        sys.stderr.write(f"realtime-hub: {message}\n")
        if error is not None:
            for item in error.errors:
                loc = ".".join(str(part) for part in item.get("loc", []))
                sys.stderr.write(f"  {loc}: {item.get('msg')}\n")
    return code


def run(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the CLI; returns the exit code."""
    stream = out or sys.stdout
    args: argparse.Namespace | None = None
    try:
        cli = parser()
        args, extra = cli.parse_known_args(argv)
        # argparse stops filling `key=value` fields at the first option: the rest come back here.
        if extra and args.command == "publish" and all("=" in item and not item.startswith("-") for item in extra):
            args.fields = [*args.fields, *extra]
        elif extra:
            cli.error(f"unrecognized arguments: {' '.join(extra)}")
        args.json = getattr(args, "json", False)
        config = resolve(args)
        code: int = args.handler(args, config, stream)
        return code
    except Usage as exc:
        return _fail(str(exc), USAGE, args)
    except ApiError as exc:
        return _fail(str(exc), UNAVAILABLE if exc.status >= 500 else REFUSED, args, exc)
    except AuthError as exc:
        return _fail(str(exc), REFUSED, args)
    except (TransportError, TimeoutError) as exc:
        return _fail(str(exc), UNAVAILABLE, args)
    except HubError as exc:
        return _fail(str(exc), UNAVAILABLE, args)
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit
        return OK


def main() -> NoReturn:
    sys.exit(run())


if __name__ == "__main__":
    main()
