"""The cold-start benchmark's machinery on a tiny sample: structure only, never timing."""

from __future__ import annotations

import json

from bench.coldstart import (
    BASELINE,
    FUNCTIONS,
    POWERTOOLS_PARTS,
    format_powertools_costs,
    format_table,
    function_environment,
    measure,
    powertools_costs,
)


def test_every_function_is_measured_with_the_deployed_switches() -> None:
    assert {"authorizer", "connect", "message", "rest_api"} <= set(FUNCTIONS)
    env = function_environment("connect", port=8123, dynamodb_endpoint="http://127.0.0.1:5555")
    # Deployed functions trace and publish metrics; the local stack's switches are gone.
    assert "POWERTOOLS_TRACE_DISABLED" not in env and "POWERTOOLS_METRICS_DISABLED" not in env
    assert env["LAMBDA_TASK_ROOT"].endswith("functions/connect")
    assert env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:5555"
    assert env["POWERTOOLS_SERVICE_NAME"] == "realtime-connect"


def test_one_run_of_one_function_gives_medians_and_ratios() -> None:
    results = measure(1, functions=("authorizer",), invoke=False)
    json.dumps(results)  # JSON-serializable, as `python -m bench` saves it
    assert results["runs"] == 1 and not results["invoked"]
    assert set(results["functions"]) == {"authorizer"}
    entry = results["functions"]["authorizer"]
    for measure_name in ("init_wall", "init_cpu", "process_wall", "process_cpu"):
        for summary in (results["baseline"][measure_name], entry[measure_name], entry["ratio"][measure_name]):
            assert summary["min"] <= summary["median"] <= summary["max"]
            assert summary["min"] > 0
    assert entry["target"] == 0.5
    assert entry["imported"]["boto3"] is False
    table = format_table(results)
    assert BASELINE in table and "authorizer" in table


def test_the_powertools_parts_are_each_measured() -> None:
    costs = powertools_costs(1)
    assert set(costs) == set(POWERTOOLS_PARTS)
    for summaries in costs.values():
        assert summaries["init_wall"]["median"] > 0
    assert "Logger" in format_powertools_costs(costs)
