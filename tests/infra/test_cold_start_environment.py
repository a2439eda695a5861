"""Each function's environment, as synthesized, is what its code needs at cold start.

For every function of both stacks: take its variables from the template, turn the
CloudFormation references into plausible values, and import functions/<name>/handler.py
with exactly that environment (a fresh copy of the `realtime` package each time, as in a
new Lambda sandbox; moto stands in for AWS so boto3 clients can be created), recording
which settings models (realtime/config.py) the import loads. The import must succeed and
fail when any one required variable is missing; the environment must hold every variable
of those models the stack configures and nothing else; and the settings loaded must carry
the stack's configuration (a variable left out would silently fall back to a default). A
deploy that would break, or misbehave, on its first invocation fails here instead.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import re
import uuid
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from moto import mock_aws
from pydantic import ValidationError

from infra.config import StackConfig
from infra.event_bus import INGEST_DETAIL_TYPE, created_bus_name
from infra.functions import NOT_DEPLOYED, REPLAY_BUDGET_SECONDS, SPECS, FunctionSpec
from infra.paths import FUNCTIONS_DIR
from realtime.config import Settings, SettingsError, settings_variables
from tests.infra.support import Synthesized, lambda_sandbox, resolve, resolved_environment

_SPECS: dict[str, FunctionSpec] = {spec.name: spec for spec in SPECS}
_POWERTOOLS = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}


def _aliases(model: Settings, *, required_only: bool = False) -> set[str]:
    return set(settings_variables(model, required_only=required_only).values())


def _required(function: str) -> set[str]:
    required = set()
    for model in _SPECS[function].settings:  # checked against what the import loads, below
        required |= _aliases(model, required_only=True)
        if model.__name__ == "AuthSettings":
            # Plus the key source: exactly one of JWT_JWKS_URL or JWT_HS256_SECRET, and
            # deployed stacks only ever get the JWKS URL.
            required.add("JWT_JWKS_URL")
    return required


def cold_start(function: str, env: dict[str, str]) -> tuple[Exception | None, dict[str, Any]]:
    """Import the function's handler module with exactly `env`; return what it raised and
    the settings it loaded (class name → instance)."""
    path = FUNCTIONS_DIR / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"_cold_start_{function}_{uuid.uuid4().hex}", path)
    assert spec is not None and spec.loader is not None
    loaded: dict[str, Any] = {}
    with lambda_sandbox(env), mock_aws():
        settings = importlib.import_module("realtime.config")
        # Every settings class reads the environment through a `from_env` classmethod: the
        # pydantic models through their base class's, AuthSettings (pydantic-free) its own.
        bases = {
            next(cls for cls in model.__mro__ if "from_env" in vars(cls))
            for model in (settings.HubSettings, settings.AuthSettings)
        }
        with contextlib.ExitStack() as patches:
            for base in bases:
                read: Callable[..., Any] = vars(base)["from_env"].__func__

                def recording(cls: type, environ: Any = None, read: Callable[..., Any] = read) -> Any:
                    instance = read(cls, environ)
                    loaded[cls.__name__] = instance
                    return instance

                patches.enter_context(mock.patch.object(base, "from_env", classmethod(recording)))
            try:
                spec.loader.exec_module(importlib.util.module_from_spec(spec))
            except Exception as exc:
                return exc, loaded
    return None, loaded


@pytest.mark.parametrize("function", sorted(_SPECS))
def test_handler_imports_with_exactly_its_environment(stack: Synthesized, function: str) -> None:
    failure, loaded = cold_start(function, resolved_environment(stack, function))
    assert failure is None
    # infra/functions.py declares what each function loads; the code agrees.
    assert set(loaded) == {model.__name__ for model in _SPECS[function].settings}


@pytest.mark.parametrize("function", sorted(_SPECS))
def test_environment_is_every_configured_setting_and_nothing_else(stack: Synthesized, function: str) -> None:
    env = resolved_environment(stack, function)
    fields = set().union(*(_aliases(model) for model in _SPECS[function].settings))
    unset = set(NOT_DEPLOYED)
    if not stack.config.cors_origins and not stack.config.dashboard:
        unset.add("CORS_ALLOW_ORIGINS")  # no origins, no CORS headers
    assert set(env) == _POWERTOOLS | (fields - unset)


def test_settings_left_to_their_defaults_exist() -> None:
    fields = set().union(*(_aliases(model) for spec in SPECS for model in spec.settings))
    assert set(NOT_DEPLOYED) <= fields


def _configured(
    config: StackConfig, function: str = "message", *, dashboard_origin: str | None = None
) -> dict[str, dict[str, Any]]:
    """What each settings model must hold: the stack's configuration, not a default (and the
    dashboard's origin, a reference to its distribution, as resolve() renders it)."""
    roles = {"connect_role": config.connect_role, "reader_role": config.reader_role}
    # The workers only fan out: their own concurrency (fanoutWorkerConcurrency).
    concurrency = config.fanout_worker_concurrency if function == "fanout_worker" else config.fanout_concurrency
    return {
        "AuthSettings": {
            **roles,
            "roles_claim": config.effective_roles_claim,
            "scopes_claim": config.effective_scopes_claim,
            "scope_roles": config.effective_scope_roles,
            "leeway_seconds": config.jwt_leeway_seconds,
            "hs256_secret": None,
            **(
                {}
                if config.uses_cognito
                else {"issuer": config.issuer, "audiences": str((config.audience,)), "jwks_url": str(config.jwks_url)}
            ),
        },
        "HubSettings": {
            **roles,
            "group_roles": config.groups,
            "auto_join_group": config.auto_join_group,
            "fanout_concurrency": concurrency,
            "send_max_attempts": config.send_max_attempts,
            "history_ttl_seconds": config.history_ttl_seconds,
            "history_max_messages": config.history_max_messages,
            "replay_max_messages": config.replay_max_messages,
            "replay_budget_seconds": REPLAY_BUDGET_SECONDS,  # the stack's, sized to the timeout
            "fanout_queue_threshold": config.fanout_queue_threshold,
            "member_shard_size": config.member_shard_size,
            "lifecycle_source": config.lifecycle_source,
            "admin_role": config.admin_role,
            "publish_role": config.publish_role,
            "publisher_role": config.publisher_role,
            "iam_caller_roles": config.iam_caller_roles,
            "token_expiry_grace_seconds": config.token_expiry_grace_seconds,
            "action_rate_per_second": config.action_rate_per_second,
            "action_burst": config.action_burst,
            "replay_messages_per_minute": config.replay_messages_per_minute,
            "replay_bytes_per_minute": config.replay_bytes_per_minute,
            # The existing bus by name, or the stack's own.
            "event_bus_name": config.event_bus_name or created_bus_name(config.stack_name),
        },
        "RestSettings": {"cors_allow_origins": [*config.cors_allow_origins, *filter(None, [dashboard_origin])]},
        # The rule matches the same detail-type (infra/event_bus.py).
        "IngestSettings": {"detail_type": INGEST_DETAIL_TYPE},
    }


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | dict | list | None) else str(value)  # URLs


def test_every_configured_hub_setting_is_checked() -> None:
    """`_configured` names every HubSettings field the stack sets, so none can silently
    keep its default: all of them but those deliberately left unset."""
    from realtime.config import HubSettings, IngestSettings

    # The table's name, the stage's URL, the queue's URL: references to resources (checked
    # by test_template.py). The bus's name is checked here: it can come from the context.
    resources = {"table_name", "callback_url", "fanout_queue_url"}
    unset = {name for name, field in HubSettings.model_fields.items() if field.alias in NOT_DEPLOYED}
    expected = set(HubSettings.model_fields) - resources - unset
    configured = _configured(StackConfig.from_context({}))
    assert set(configured["HubSettings"]) == expected
    assert set(configured["IngestSettings"]) == set(IngestSettings.model_fields) - {"dead_letter_queue_url"}


@pytest.mark.parametrize("function", sorted(_SPECS))
def test_loaded_settings_carry_the_stack_configuration(stack: Synthesized, function: str) -> None:
    _, loaded = cold_start(function, resolved_environment(stack, function))
    (distribution,) = stack.resources("AWS::CloudFront::Distribution")
    dashboard_origin = "https://" + resolve({"Fn::GetAtt": [distribution, "DomainName"]})
    expected = _configured(stack.config, function, dashboard_origin=dashboard_origin)
    for name, settings in loaded.items():
        actual = {field: _plain(getattr(settings, field)) for field in expected[name]}
        assert actual == expected[name], f"{function}: {name}"


@pytest.mark.parametrize("function", sorted(_SPECS))
def test_handler_fails_without_any_one_required_variable(stack: Synthesized, function: str) -> None:
    env = resolved_environment(stack, function)
    required = _required(function)
    assert required <= set(env), "the template lacks a required variable"
    for variable in sorted(required):
        failure, _ = cold_start(function, {name: value for name, value in env.items() if name != variable})
        # A settings error: pydantic's, or AuthSettings' own (its class is the sandbox's copy).
        refused = isinstance(failure, ValidationError) or type(failure).__name__ == SettingsError.__name__
        assert refused, f"{function} imported without {variable}"
        assert variable in str(failure)


def test_placeholders_are_plausible(default: Synthesized) -> None:
    env = resolved_environment(default, "rest_api")
    assert re.fullmatch(
        r"https://[a-z0-9-]+\.execute-api\.us-east-1\.amazonaws\.com/prod", env["WEBSOCKET_CALLBACK_URL"]
    )
    assert env["JWT_JWKS_URL"].startswith("https://") and env["JWT_JWKS_URL"].endswith("/.well-known/jwks.json")
