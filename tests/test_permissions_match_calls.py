"""Each function is granted exactly what it calls, as recorded while the integration and
end-to-end tests ran it (tests/aws_calls.py), and the monitoring watches exactly the
metrics each function emits.

These tests run after every other test of the session. They fail when a function called
an operation its row in infra/permissions.py does not grant, and when its row grants one
that no test made it call (a grant nobody can show is needed is one to remove, or a path
no test covers). They need the whole integration and end-to-end suites in the same run,
as `make test` runs them; a narrower run skips them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from infra.config import FUNCTION_NAMES, FunctionName
from infra.functions import SPECS
from infra.monitoring import APP_METRICS
from infra.permissions import GRANTS
from local.emulated.lambdas import FUNCTION_NAMES as LOCAL_FUNCTION_NAMES
from tests.aws_calls import METRIC, RECORDER, CallRecorder, ungranted_calls, unused_grants

pytestmark = pytest.mark.after_recording


@pytest.fixture
def recorded() -> CallRecorder:
    if not RECORDER.complete:
        pytest.skip("needs every integration and end-to-end test in the same run (make test)")
    return RECORDER


def test_every_function_has_a_handler_a_spec_and_a_row() -> None:
    assert set(FUNCTION_NAMES) == set(LOCAL_FUNCTION_NAMES) == {spec.name for spec in SPECS} == set(GRANTS)


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_the_function_calls_only_what_it_is_granted(recorded: CallRecorder, function: FunctionName) -> None:
    assert ungranted_calls(recorded, GRANTS, function) == set(), recorded.report()


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_every_grant_of_the_function_is_used_by_some_test(recorded: CallRecorder, function: FunctionName) -> None:
    assert unused_grants(recorded, GRANTS, function) == set(), recorded.report()


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_the_monitoring_watches_each_metric_the_function_emits(recorded: CallRecorder, function: str) -> None:
    emitted = {action.removeprefix(f"{METRIC} ") for action in recorded.actions(function) if action.startswith(METRIC)}
    watched = {metric for metric, functions in APP_METRICS.items() if function in functions}
    assert emitted == watched, recorded.report()


def test_a_grant_no_test_uses_is_reported(recorded: CallRecorder) -> None:
    """The mutation: a grant added to a row, which nothing calls."""
    row = GRANTS["sweeper"]
    padded = {**GRANTS, "sweeper": replace(row, table=(*row.table, "dynamodb:Scan"))}
    assert unused_grants(recorded, padded, "sweeper") == {"dynamodb:Scan"}
