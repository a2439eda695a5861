"""What each function imports at its cold start (a fresh interpreter, the environment the
deployed function gets, Lambda's variables included so that tracing is on): the authorizers
verify a JWT and never load boto3, pydantic, Powertools or the X-Ray SDK; a function loads
only what it uses."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from bench.coldstart import FUNCTIONS, FUNCTIONS_DIR, REPO, function_environment
from bench.coldstart import _process_environment as process_environment

_PROBE = """
import json, sys
sys.path.insert(0, {function_dir!r})
import handler
print(json.dumps(sorted(sys.modules)))
"""


def probe(function: str, script: str) -> Any:
    """What `script` prints last (JSON), run in a fresh interpreter with the function's
    deployed environment: a cold start."""
    env = function_environment(function, port=9, dynamodb_endpoint="http://127.0.0.1:9")
    completed = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", script.format(function_dir=str(FUNCTIONS_DIR / function))],
        cwd=REPO,
        env=process_environment(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def imported_modules(function: str) -> set[str]:
    return set(probe(function, _PROBE))


def packages(modules: set[str]) -> set[str]:
    return {name.partition(".")[0] for name in modules}


@pytest.fixture(scope="module")
def modules() -> dict[str, set[str]]:
    return {function: imported_modules(function) for function in FUNCTIONS}


@pytest.mark.parametrize("function", ["authorizer", "rest_authorizer"])
def test_an_authorizer_loads_no_aws_sdk_no_pydantic_and_no_powertools(
    modules: dict[str, set[str]], function: str
) -> None:
    """The handshake's cold start: PyJWT and the standard library only (docs/architecture.md,
    "Cold start"). pydantic and Powertools' Logger alone would double its init."""
    loaded = packages(modules[function])
    assert {"boto3", "botocore", "aws_xray_sdk", "pydantic", "pydantic_core", "aws_lambda_powertools"} & loaded == set()
    assert "jwt" in loaded


_TRACED_PROBE = """
import json, sys
sys.path.insert(0, {function_dir!r})
import handler
from realtime import tracing
at_import = sorted(sys.modules)
wrappers, step = [], handler.handler
while step is not None:
    wrappers.append(step.__code__.co_qualname)  # __qualname__ is the wrapped one's
    step = getattr(step, "__wrapped__", None)
tracing.trace(lambda event, context: None)  # what the first invocation builds
print(json.dumps({{"at_import": at_import, "traced": sorted(sys.modules), "wrappers": wrappers}}))
"""


@pytest.mark.parametrize("function", sorted(set(FUNCTIONS) - {"authorizer", "rest_authorizer"}))
def test_a_function_that_calls_aws_traces_botocore_only_from_its_first_invocation(function: str) -> None:
    traced = probe(function, _TRACED_PROBE)
    # The init imports no X-Ray SDK; the handler is wrapped to build the Tracer when first called.
    assert "aws_xray_sdk" not in packages(set(traced["at_import"]))
    assert "capture_lambda_handler.<locals>.traced_handler" in traced["wrappers"]
    patched = set(traced["traced"])
    assert "aws_xray_sdk.ext.botocore.patch" in patched
    # Tracer's default would patch every installed library it knows, importing each.
    assert {name for name in patched if name.startswith("aws_xray_sdk.ext.") and name.endswith(".patch")} == {
        "aws_xray_sdk.ext.botocore.patch"
    }


# Powertools' batch utility imports every parser model when pydantic is loaded (for its type
# hints): the fan-out worker reports partial failures with a loop of its own instead.
@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_builds_every_powertools_parser_model(modules: dict[str, set[str]], function: str) -> None:
    assert "aws_lambda_powertools.utilities.parser.models" not in modules[function]


@pytest.mark.parametrize("function", ["connect", "disconnect", "sweeper", "fanout_worker", "ingest", "message"])
def test_no_jwt_library_where_no_token_is_verified_at_init(modules: dict[str, set[str]], function: str) -> None:
    assert "jwt" not in modules[function]


def test_tracing_off_means_no_tracing_sdk_at_all() -> None:
    env = function_environment("connect", port=9, dynamodb_endpoint="http://127.0.0.1:9")
    env["POWERTOOLS_TRACE_DISABLED"] = "true"
    code = _PROBE.format(function_dir=str(FUNCTIONS_DIR / "connect"))
    completed = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=REPO,
        env=process_environment(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "aws_xray_sdk" not in packages(set(json.loads(completed.stdout.strip().splitlines()[-1])))
