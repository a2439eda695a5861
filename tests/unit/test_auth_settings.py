"""AuthSettings (realtime/auth_config.py): validated by hand, without pydantic, by the rules
the pydantic model had. One error names every offending variable, never the secret."""

from __future__ import annotations

import json

import pytest

from realtime.auth_config import AuthSettings, SettingsError
from realtime.config import AuthSettings as ReExported
from realtime.config import SettingsError as ReExportedError

SECRET = "s3cr3t-" + "x" * 40
BASE = {"JWT_ISSUER": "https://issuer", "JWT_AUDIENCE": "app", "JWT_HS256_SECRET": SECRET}


def refused(env: dict[str, str]) -> SettingsError:
    with pytest.raises(SettingsError) as caught:
        AuthSettings.from_env(env)
    return caught.value


def test_realtime_config_re_exports_the_same_class() -> None:
    assert ReExported is AuthSettings and ReExportedError is SettingsError
    assert issubclass(SettingsError, ValueError)


def test_the_defaults() -> None:
    settings = AuthSettings.from_env(BASE)
    assert settings.issuer == "https://issuer" and settings.audiences == ("app",)
    assert settings.jwks_url is None and settings.hs256_secret is not None
    assert settings.hs256_secret.get_secret_value() == SECRET
    assert (settings.roles_claim, settings.scopes_claim) == ("roles", "scope")
    assert settings.scope_roles == {"realtime/read": ["reader"], "realtime/publish": ["publisher"]}
    assert (settings.connect_role, settings.reader_role, settings.leeway_seconds) == ("admin", "reader", 30)


def test_every_offending_variable_is_named_in_one_error() -> None:
    error = refused({"JWT_AUDIENCE": "", "JWT_LEEWAY_SECONDS": "301", "CONNECT_ROLE": "a b", "READER_ROLE": "x,y"})
    assert set(error.problems) == {
        "JWT_ISSUER",
        "JWT_AUDIENCE",
        "JWT_LEEWAY_SECONDS",
        "CONNECT_ROLE",
        "READER_ROLE",
        "JWT_JWKS_URL, JWT_HS256_SECRET",
    }
    for variable in error.problems:
        assert variable in str(error)


def test_the_secret_never_shows() -> None:
    settings = AuthSettings.from_env(BASE)
    assert SECRET not in repr(settings) and SECRET not in str(settings.hs256_secret)
    short = "short-secret-value"
    error = refused({**BASE, "JWT_HS256_SECRET": short, "JWT_LEEWAY_SECONDS": "x"})
    assert "32" in str(error) and short not in str(error) and short not in repr(error.problems)
    both = refused({**BASE, "JWT_JWKS_URL": "https://issuer/jwks"})
    assert "exactly one" in str(both) and SECRET not in str(both)


def test_empty_variables_are_unset_and_others_are_ignored() -> None:
    settings = AuthSettings.from_env({**BASE, "JWT_ROLES_CLAIM": "", "JWT_LEEWAY_SECONDS": "", "OTHER": "x"})
    assert settings.roles_claim == "roles" and settings.leeway_seconds == 30


@pytest.mark.parametrize(
    ("value", "expected"), [("a", ("a",)), (" a  b ", ("a", "b")), (" ".join(["c"] * 100), ("c",) * 100)]
)
def test_audiences_are_separated_by_spaces(value: str, expected: tuple[str, ...]) -> None:
    assert AuthSettings.from_env({**BASE, "JWT_AUDIENCE": value}).audiences == expected


@pytest.mark.parametrize("value", ["   ", " ".join(["c"] * 101)])
def test_one_to_a_hundred_audiences(value: str) -> None:
    assert set(refused({**BASE, "JWT_AUDIENCE": value}).problems) == {"JWT_AUDIENCE"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json", None),
        ("http://127.0.0.1:9/jwks.json", None),
        ("https://issuer.example", "https://issuer.example/"),  # as pydantic's AnyHttpUrl renders it
    ],
)
def test_the_jwks_url(value: str, expected: str | None) -> None:
    env = {"JWT_ISSUER": "i", "JWT_AUDIENCE": "a", "JWT_JWKS_URL": value}
    assert AuthSettings.from_env(env).jwks_url == (expected or value)


@pytest.mark.parametrize(
    "value", ["ftp://x/jwks", "https://", "jwks.json", "https://x:99999/j", "https://" + "x" * 2100]
)
def test_the_jwks_url_is_an_http_url(value: str) -> None:
    error = refused({"JWT_ISSUER": "i", "JWT_AUDIENCE": "a", "JWT_JWKS_URL": value})
    assert set(error.problems) == {"JWT_JWKS_URL"}


@pytest.mark.parametrize(("value", "expected"), [("0", 0), ("300", 300), (" 45 ", 45), ("30.0", 30)])
def test_the_leeway(value: str, expected: int) -> None:
    assert AuthSettings.from_env({**BASE, "JWT_LEEWAY_SECONDS": value}).leeway_seconds == expected


@pytest.mark.parametrize("value", ["-1", "301", "1.5", "ten", "nan"])
def test_the_leeway_is_0_to_300_seconds(value: str) -> None:
    assert set(refused({**BASE, "JWT_LEEWAY_SECONDS": value}).problems) == {"JWT_LEEWAY_SECONDS"}


def test_a_scope_grants_one_role_or_several() -> None:
    mapping = {"hub.write": "publisher", "https://api.example.com/hub.read": ["reader", "ops"], "none": []}
    settings = AuthSettings.from_env({**BASE, "JWT_SCOPE_ROLES": json.dumps(mapping)})
    assert settings.scope_roles == {
        "hub.write": ["publisher"],
        "https://api.example.com/hub.read": ["reader", "ops"],
        "none": [],
    }


@pytest.mark.parametrize(
    "mapping",
    [
        "not json",
        '["reader"]',
        '{"has space": "reader"}',
        '{"a\\"quote": "reader"}',
        '{"ok": "x,admin"}',
        '{"ok": ["reader", 1]}',
        '{"ok": null}',
        json.dumps({f"s{i}": "reader" for i in range(101)}),
    ],
)
def test_a_bad_scope_mapping_is_named(mapping: str) -> None:
    assert set(refused({**BASE, "JWT_SCOPE_ROLES": mapping}).problems) == {"JWT_SCOPE_ROLES"}


def test_the_variables_and_defaults_are_declared_once() -> None:
    assert AuthSettings.variables(required_only=True) == {"issuer": "JWT_ISSUER", "audiences": "JWT_AUDIENCE"}
    assert set(AuthSettings.variables().values()) >= {"JWT_JWKS_URL", "JWT_HS256_SECRET", "JWT_SCOPE_ROLES"}
    assert AuthSettings.default("scopes_claim") == "scope"
    assert AuthSettings.default("scope_roles") is not AuthSettings.default("scope_roles")  # a fresh copy
