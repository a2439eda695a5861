"""The realtime-hub CLI's configuration and field parsing, and the subscriber's resume
bookkeeping (duplicates dropped, gaps filled from the history), without a stack."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
from pathlib import Path

import httpx
import pytest

from realtime.domain.models import Envelope
from realtime_hub import AsyncHub, ClientCredentials, SigV4, StaticToken, Subscriber
from realtime_hub.cli import USAGE, Usage, parse_fields, parser, resolve, run


def test_fields_are_text_or_json_over_data() -> None:
    fields = ["title=Disk", "value:=912", "ok:=true", 'details:={"a": 1}', "note=a=b", "message=x:=y"]
    assert parse_fields(fields, '{"title": "old", "source": "ci"}') == {
        "title": "Disk", "source": "ci", "value": 912, "ok": True, "details": {"a": 1}, "note": "a=b",
        "message": "x:=y",
    }  # fmt: skip
    for bad in (["novalue"], ["=x"], ["n:=not json"]):
        with pytest.raises(Usage):
            parse_fields(bad, None)
    with pytest.raises(Usage, match="JSON object"):
        parse_fields([], "[1]")


def namespace(*argv: str) -> argparse.Namespace:
    args = parser().parse_args([*argv, "stats"])
    args.json = getattr(args, "json", False)
    return args


def test_flags_win_over_the_environment_which_wins_over_the_profile(tmp_path: Path) -> None:
    profile = tmp_path / "config.toml"
    profile.write_text(
        '[default]\nrest_url = "https://profile.example/api"\nws_url = "wss://profile.example"\ntoken = "p"\n'
        '[m2m]\nrest_url = "https://m2m.example/api"\ntoken_url = "https://auth.example/token"\n'
        'client_id = "svc"\nclient_secret = "s"\nscopes = ["a", "b"]\n'
        '[iam]\nrest_url = "https://iam.example/api"\nsigv4_region = "eu-west-1"\n'
    )
    env = {"REALTIME_HUB_CONFIG": str(profile)}
    config = resolve(namespace(), env)
    assert (config.rest_url, config.ws_url) == ("https://profile.example/api", "wss://profile.example")
    assert isinstance(config.auth, StaticToken) and config.auth.token == "p"

    env["REALTIME_HUB_REST_URL"] = "https://env.example/api"
    env["REALTIME_HUB_TOKEN"] = "e"
    config = resolve(namespace(), env)
    assert config.rest_url == "https://env.example/api" and isinstance(config.auth, StaticToken)
    assert config.auth.token == "e"
    config = resolve(namespace("--rest-url", "https://flag.example/api", "--token", "f", "--json"), env)
    assert config.rest_url == "https://flag.example/api" and config.json
    assert isinstance(config.auth, StaticToken) and config.auth.token == "f"

    m2m = resolve(namespace("--profile", "m2m"), {"REALTIME_HUB_CONFIG": str(profile)})
    assert isinstance(m2m.auth, ClientCredentials) and m2m.auth.scopes == ("a", "b")
    assert m2m.auth.token_url == "https://auth.example/token"
    iam = resolve(namespace(), {"REALTIME_HUB_CONFIG": str(profile), "REALTIME_HUB_PROFILE": "iam"})
    assert isinstance(iam.auth, SigV4) and iam.auth.region == "eu-west-1"

    with pytest.raises(Usage, match="no profile"):
        resolve(namespace("--profile", "missing"), {"REALTIME_HUB_CONFIG": str(profile)})
    profile.write_text('[default]\nrest_ur = "typo"\n')
    with pytest.raises(Usage, match="unknown setting"):
        resolve(namespace(), {"REALTIME_HUB_CONFIG": str(profile)})
    with pytest.raises(Usage, match="client credentials need"):
        resolve(namespace("--client-id", "svc"), {"REALTIME_HUB_CONFIG": "/nonexistent"})


def test_the_defaults_are_the_local_stack_with_a_minted_token() -> None:
    config = resolve(namespace(), {"REALTIME_HUB_CONFIG": "/nonexistent"})
    assert config.rest_url == "http://127.0.0.1:8000/api/admin/realtime" and config.ws_url == "ws://127.0.0.1:8000/ws"
    assert isinstance(config.auth, StaticToken) and config.auth.token.count(".") == 2
    remote = resolve(namespace("--rest-url", "https://hub.example/api"), {"REALTIME_HUB_CONFIG": "/nonexistent"})
    assert remote.auth is None  # never a local token for a remote hub


def test_publish_refuses_invalid_data_before_sending(capsys: pytest.CaptureFixture[str]) -> None:
    unreachable = ["--rest-url", "http://127.0.0.1:9/api", "--token", "t"]
    assert run([*unreachable, "publish", "Alert", "title=Disk"], io.StringIO()) == USAGE
    assert "message: Field required" in capsys.readouterr().err
    assert run([*unreachable, "publish", "Nope"], io.StringIO()) == USAGE
    assert run([*unreachable, "--json", "publish", "Alert", "--group", "g", "--user", "u"], io.StringIO()) == USAGE
    assert json.loads(capsys.readouterr().err.splitlines()[-1])["error"] == "--group or --user, not both"


@pytest.mark.parametrize("command", ["publish", "tail", "stats", "presence", "history", "token"])
def test_every_command_has_help_with_the_exit_codes(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], [command, "--help"]):
        with pytest.raises(SystemExit) as exited:
            run(argv, io.StringIO())
        assert exited.value.code == 0
        assert "exit codes: 0 done; 1 the hub refused" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["no-such-command"], ["presence"], ["history", "g", "--after", "x"], ["stats", "--bogus"]):
        with pytest.raises(SystemExit) as exited:
            run(argv, io.StringIO())
        assert exited.value.code == USAGE, argv
    assert run(["--config", "/nonexistent", "--profile", "prod", "stats"], io.StringIO()) == USAGE
    assert "no profile file" in capsys.readouterr().err


def envelope(seq: int, epoch: str = "e") -> Envelope:
    return Envelope.model_validate(
        {
            "type": "TestMessage",
            "group": "g",
            "id": f"m{seq}",
            "seq": seq,
            "epoch": epoch,
            "ts": "t",
            "data": {"message": str(seq)},
        }
    )


def history(stored: list[int]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        after = int(request.url.params["after"])
        items = [envelope(s).to_dict() for s in stored if s > after]
        return httpx.Response(200, json={"items": items, "next": None})

    return httpx.MockTransport(answer)


def test_the_subscriber_fills_what_was_not_replayed_and_drops_duplicates() -> None:
    reports: list[str] = []

    async def scenario() -> list[int]:
        async with AsyncHub("http://hub.example/api", auth="t", transport=history([4, 5, 7, 8])) as hub:
            subscriber = Subscriber("ws://hub.example/ws", ["g"], hub=hub, since=2, report=reports.append)
            # Subscribed live (no epoch known for since=2): 3..5 from the history; 3 is gone.
            await subscriber._subscribed({"type": "Subscribed", "group": "g", "seq": 5, "epoch": "e"})
            await subscriber._fill_before(envelope(5))  # already printed: dropped
            await subscriber._fill_before(envelope(6))
            await subscriber._fill_before(envelope(9))  # 7 and 8 missed live: filled
            await subscriber._fill_before(envelope(8))  # a late duplicate
            await subscriber._fill_before(envelope(1, epoch="new"))  # a reset sequence
            return [e.seq for e in subscriber._backlog]

    assert asyncio.run(scenario()) == [4, 5, 6, 7, 8, 9, 1]
    assert any("3..3 are no longer stored" in r for r in reports), reports
    assert any("new epoch" in r for r in reports), reports


def test_a_recovered_resume_waits_for_the_replay() -> None:
    subscriber = Subscriber("ws://hub.example/ws", ["g"], since=0)
    assert subscriber._subscribe_frame("g") == {"action": "subscribe", "group": "g", "requestId": "subscribe:g"}
    asyncio.run(subscriber._subscribed({"type": "Subscribed", "group": "g", "seq": 0, "epoch": "e"}))
    assert subscriber._subscribe_frame("g")["since"] == 0 and subscriber._subscribe_frame("g")["epoch"] == "e"
    subscriber._accept(envelope(1))
    asyncio.run(subscriber._subscribed({"type": "Subscribed", "group": "g", "seq": 3, "epoch": "e", "recovered": True}))
    assert subscriber.positions["g"].seq == 1 and [e.seq for e in subscriber._backlog] == [1]  # 2, 3 replayed next


def test_token_mints_a_users_or_a_services_local_token() -> None:
    import jwt

    user, service = io.StringIO(), io.StringIO()
    assert run(["token", "--sub", "ops", "--roles", "reader"], user) == 0
    assert run(["token", "--scopes", "realtime/publish,realtime/read"], service) == 0
    user_claims = jwt.decode(user.getvalue().strip(), options={"verify_signature": False})
    service_claims = jwt.decode(service.getvalue().strip(), options={"verify_signature": False})
    assert (user_claims["sub"], user_claims["roles"]) == ("ops", ["reader"])
    assert service_claims["scope"] == "realtime/publish realtime/read" and "roles" not in service_claims
    assert service_claims["token_use"] == "access" and service_claims["client_id"] == service_claims["sub"]
