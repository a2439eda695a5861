"""The authorizers' logger (realtime.lean_logging) writes the lines Powertools' Logger
writes: same keys in the same order, same values, same level rules."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from local.emulated.lambdas import LambdaContext
from realtime import lean_logging

TRACE = "Root=1-6745f2c1-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1"
EVENT = {"requestContext": {"requestId": "req-42"}, "queryStringParameters": {"token": "secret.token.value"}}


@pytest.fixture
def lean_lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "realtime-authorizer")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE)
    for name in ("POWERTOOLS_LOG_LEVEL", "LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL", "AWS_LAMBDA_INITIALIZATION_TYPE"):
        monkeypatch.delenv(name, raising=False)
    lean_logging.reread_environment()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(lean_logging.JsonFormatter())
    lean_logging.logger.addHandler(handler)
    yield stream
    lean_logging.logger.removeHandler(handler)
    monkeypatch.undo()
    lean_logging.reread_environment()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_same_keys_and_values_as_powertools(lean_lines: io.StringIO) -> None:
    context = LambdaContext(function_name="realtime-authorizer")
    powertools_stream = io.StringIO()
    powertools = Logger(service="realtime-authorizer", stream=powertools_stream)

    @powertools.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
    def with_powertools(event: dict, context: object) -> None:
        powertools.info("token refused", extra={"reason": "invalid token: ExpiredSignatureError"})

    @lean_logging.inject_lambda_context(correlation_id_path=lean_logging.API_GATEWAY_REST)
    def with_lean(event: dict, context: object) -> None:
        lean_logging.logger.info("token refused", extra={"reason": "invalid token: ExpiredSignatureError"})

    with_powertools(EVENT, context)
    with_lean(EVENT, context)
    [expected], [actual] = lines(powertools_stream), lines(lean_lines)
    assert list(actual) == list(expected)
    varying = {"location", "timestamp", "cold_start"}  # the line; the clock; Powertools' flag is per process
    assert {k: v for k, v in actual.items() if k not in varying} == {
        k: v for k, v in expected.items() if k not in varying
    }
    assert actual["location"].startswith("with_lean:")
    assert actual["correlation_id"] == "req-42" and actual["xray_trace_id"] == "1-6745f2c1-0123456789abcdef01234567"
    assert len(actual["timestamp"]) == len(expected["timestamp"])
    assert "secret.token.value" not in lean_lines.getvalue()


def test_cold_start_is_the_first_invocation_of_each_load(lean_lines: io.StringIO) -> None:
    def load() -> Any:
        @lean_logging.inject_lambda_context(correlation_id_path=lean_logging.API_GATEWAY_REST)
        def handler(event: dict, context: object) -> None:
            lean_logging.logger.info("called")

        return handler

    first, second = load(), load()
    context = LambdaContext(function_name="f")
    first(EVENT, context)
    first(EVENT, context)
    second({}, context)
    assert [line["cold_start"] for line in lines(lean_lines)] == [True, False, True]
    assert "correlation_id" not in lines(lean_lines)[2]  # no requestId in that event


def test_outside_an_invocation_only_the_base_keys(lean_lines: io.StringIO) -> None:
    lean_logging.logger.warning("at init %s", "time")
    [line] = lines(lean_lines)
    assert list(line) == ["level", "location", "message", "timestamp", "service", "xray_trace_id"]
    assert (line["level"], line["message"], line["service"]) == ("WARNING", "at init time", "realtime-authorizer")


def test_exceptions_carry_their_name(lean_lines: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        lean_logging.logger.exception("failed")
    [line] = lines(lean_lines)
    assert line["exception_name"] == "ValueError" and "boom" in line["exception"]
    assert line["stack_trace"]["type"] == "ValueError"


@pytest.mark.parametrize(
    ("env", "level"),
    [
        ({}, logging.INFO),
        ({"POWERTOOLS_LOG_LEVEL": "warning"}, logging.WARNING),
        ({"LOG_LEVEL": "DEBUG"}, logging.DEBUG),
        ({"POWERTOOLS_LOG_LEVEL": "ERROR", "LOG_LEVEL": "DEBUG"}, logging.ERROR),
        ({"POWERTOOLS_LOG_LEVEL": "ERROR", "AWS_LAMBDA_LOG_LEVEL": "WARN"}, logging.WARNING),  # Lambda's controls win
    ],
)
def test_the_level_follows_the_environment_as_powertools_does(
    lean_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], level: int
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lean_logging.reread_environment()
    assert lean_logging.logger.level == level


def test_the_local_stack_rereads_the_service_name(lean_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    from local.runner import process_env

    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "renamed")
    process_env.forget_cold_start_state()
    lean_logging.logger.info("x")
    assert lines(lean_lines)[0]["service"] == "renamed"


def test_one_line_per_record() -> None:
    assert lean_logging.logger.propagate is False
    assert len([h for h in lean_logging.logger.handlers if getattr(h, "lean_json", False)]) == 1
