"""The emulator applies the deployed APIs' rules, copied into local/runner/settings.py: this
reads them from infra/ (with ast, so no CDK import) and fails when they drift apart."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from local.runner import settings
from realtime.entrypoints.rest import BASE_PATH
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

INFRA = Path(__file__).resolve().parents[2] / "infra"


def constants(module: str) -> dict[str, ast.expr]:
    tree = ast.parse((INFRA / module).read_text())
    return {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def literal(node: ast.expr) -> Any:
    return ast.literal_eval(node)


def test_the_websocket_authorizer_reads_the_same_identity_source() -> None:
    deployed = constants("websocket_api.py")["AUTHORIZER_IDENTITY_SOURCE"]
    assert literal(deployed) == settings.WEBSOCKET_AUTHORIZER_IDENTITY_SOURCE


def test_the_rest_authorizer_has_the_same_source_regex_and_cache() -> None:
    deployed = constants("rest_api.py")
    assert literal(deployed["AUTHORIZER_IDENTITY_SOURCE"]) == settings.REST_AUTHORIZER_IDENTITY_SOURCE
    assert literal(deployed["BEARER_HEADER_PATTERN"]) == settings.REST_AUTHORIZER_VALIDATION_REGEX
    cache = deployed["AUTHORIZER_CACHE_TTL"]  # Duration.minutes(n) or Duration.seconds(n)
    assert isinstance(cache, ast.Call) and isinstance(cache.func, ast.Attribute)
    seconds_per_unit = {"seconds": 1, "minutes": 60}[cache.func.attr]
    assert literal(cache.args[0]) * seconds_per_unit == settings.REST_AUTHORIZER_CACHE_SECONDS


def test_the_sweeper_runs_as_often_as_by_default_in_aws() -> None:
    tree = ast.parse((INFRA / "config.py").read_text())
    field = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "sweep_minutes"
    )
    assert isinstance(field, ast.Call)
    default = next(keyword.value for keyword in field.keywords if keyword.arg == "default")
    assert literal(default) == settings.SWEEP_MINUTES


def test_the_rest_base_path_is_the_functions() -> None:
    assert settings.REST_BASE_PATH == BASE_PATH


def test_the_sweeper_runs_on_demand(stack: ObservedDeployment) -> None:
    assert stack.sweep() == {"removed": 0}


def test_the_fanout_queue_redrives_and_hides_slices_as_deployed() -> None:
    from local.emulated import fanout_queue

    deployed = constants("fanout_queue.py")
    worker_timeout = literal(constants("functions.py")["FANOUT_WORKER_TIMEOUT_SECONDS"])
    assert literal(deployed["MAX_RECEIVE_COUNT"]) == fanout_queue.MAX_RECEIVE_COUNT
    assert literal(deployed["BATCH_SIZE"]) == fanout_queue.BATCH_SIZE
    assert literal(deployed["VISIBILITY_TIMEOUT_FACTOR"]) * worker_timeout == fanout_queue.VISIBILITY_TIMEOUT_SECONDS


def test_large_groups_go_through_the_local_queue_by_default(stack: ObservedDeployment) -> None:
    from realtime.config import HubSettings

    environment = HubSettings.from_env()  # the functions' environment, as the stack set it
    assert environment.fanout_queue_url is not None and environment.event_bus_name is not None
    assert stack.fanout_queue_depth() == {"visible": 0, "inFlight": 0, "deadLetters": 0}
