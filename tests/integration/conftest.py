"""Load the real handler modules (functions/<name>/handler.py) inside moto, with the
environment CDK gives them, and swap only the WebSocket sender for a recording fake."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local.runner.settings import LOCAL_AUDIENCE, LOCAL_DEV_SIGNING_SECRET, LOCAL_ISSUER
from tests.aws_calls import RECORDER
from tests.conftest import TABLE
from tests.fakes import FakeSender

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def load(name: str) -> ModuleType:
    module_name = f"handler_{name}_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(module_name, FUNCTIONS / name / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def function_env(monkeypatch: pytest.MonkeyPatch, dynamodb_table: object) -> None:
    for name, value in {
        "TABLE_NAME": TABLE,
        "WEBSOCKET_CALLBACK_URL": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/prod",
        "JWT_ISSUER": LOCAL_ISSUER,
        "JWT_AUDIENCE": LOCAL_AUDIENCE,
        "JWT_HS256_SECRET": LOCAL_DEV_SIGNING_SECRET,
    }.items():
        monkeypatch.setenv(name, value)


Invoke = Callable[[str, dict[str, Any]], Any]


@pytest.fixture
def replies() -> FakeSender:
    return FakeSender()


def forget_cold_start() -> None:
    """Every cached setting and adapter, as a new execution environment would start."""
    from realtime import bootstrap
    from realtime.config import auth_settings

    for cached in (auth_settings, bootstrap._hub, bootstrap.verifier, bootstrap.ingest_settings):
        cached.cache_clear()
    bootstrap.dead_letters.cache_clear()


@pytest.fixture
def invoke(function_env: None, replies: FakeSender, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """invoke(name, event) runs functions/<name>/handler.py as Lambda would, every adapter
    real (inside moto) but the @connections sender, which records what it is asked."""
    from realtime import bootstrap

    forget_cold_start()
    monkeypatch.setattr(bootstrap, "management_api_sender", lambda _settings: replies)
    modules: dict[str, ModuleType] = {}

    def run(name: str, event: dict[str, Any]) -> Any:
        if name not in modules:
            modules[name] = load(name)
        return RECORDER.wrap(name, modules[name].handler)(event, LambdaContext())

    yield run
    forget_cold_start()
