"""The latency model's settings: off unless asked for, AWS-like figures with LOCAL_LATENCY=on,
one figure per variable, and the environment that hands a model to a child process."""

from __future__ import annotations

import asyncio
import time

import pytest
from pydantic import ValidationError

from local.emulated.latency import LatencyModel, Service


def test_off_by_default() -> None:
    model = LatencyModel.from_env({})
    assert not model.active
    assert all(model.seconds(service) == 0 for service in Service)


def test_on_takes_the_aws_like_figures_and_each_variable_overrides_one() -> None:
    model = LatencyModel.from_env({"LOCAL_LATENCY": "on", "LOCAL_LATENCY_CONNECTIONS_MS": "30"})
    assert model.active
    assert (model.dynamodb_ms, model.connections_ms) == (5, 30)
    assert (model.sqs_ms, model.eventbridge_ms, model.lambda_invoke_ms) == (10, 15, 5)


def test_one_variable_alone_sets_that_figure_only() -> None:
    model = LatencyModel.from_env({"LOCAL_LATENCY_DYNAMODB_MS": "7.5", "LOCAL_LATENCY_SQS_MS": ""})
    assert model.seconds(Service.DYNAMODB) == 0.0075
    assert model.seconds(Service.SQS) == model.seconds(Service.CONNECTIONS) == 0


def test_the_environment_gives_a_child_the_same_model() -> None:
    model = LatencyModel.aws_like()
    assert LatencyModel.from_env(model.environment()) == model
    assert LatencyModel.from_env(LatencyModel().environment()) == LatencyModel()


def test_figures_are_bounded() -> None:
    with pytest.raises(ValidationError):
        LatencyModel.from_env({"LOCAL_LATENCY_DYNAMODB_MS": "-1"})
    with pytest.raises(ValidationError):
        LatencyModel.from_env({"LOCAL_LATENCY_LAMBDA_INVOKE_MS": "abc"})


def test_a_wait_lasts_at_least_its_figure() -> None:
    model = LatencyModel(sqs_ms=30)
    started = time.perf_counter()
    asyncio.run(model.wait(Service.SQS))
    assert time.perf_counter() - started >= 0.029
