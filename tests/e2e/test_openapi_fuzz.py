"""schemathesis against the served OpenAPI document: the document is the contract.

Every check schemathesis has runs on every operation — no server error, every status
and body declared (response schema and status-code conformance), invalid data refused,
valid data accepted, other methods answered 405 with Allow, authentication enforced —
with an admin token and without one. Bounded and seeded (`FUZZ_EXAMPLES`, default 12 per
operation) so `make test` stays fast and repeatable; `make fuzz` runs many more.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks
from schemathesis.specs.openapi import checks as openapi_checks

from tests.e2e.support import bearer, token
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
ADMIN = token("fuzzer")

ALL_CHECKS = [
    checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.positive_data_acceptance,
    openapi_checks.missing_required_header,
    openapi_checks.unsupported_method,
    openapi_checks.ignored_auth,
]
# What JSON Schema cannot say, so schema-valid data the code refuses (documented in the
# route's summary): activeUsers must not exceed totalUsers.
CROSS_FIELD_RULES = {"/api/admin/realtime/broadcast/user-count", "/api/admin/realtime/publish"}

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"  # = the served one (tested)


def _operations() -> dict[str, Any]:
    operations = {}
    for result in schemathesis.openapi.from_path(DOCUMENT).get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid document fails collection here
        operations[operation.label] = operation
    return operations


OPERATIONS = _operations()
# Negative cases need something to make invalid: a parameter or a body.
NEGATIVE = [
    label for label, op in OPERATIONS.items() if list(op.iter_parameters()) or op.definition.raw.get("requestBody")
]


def excluded(label: str, *, anonymous: bool) -> list[Any]:
    path = label.split(" ", 1)[1]
    if path in CROSS_FIELD_RULES or anonymous:  # anonymous: valid data is still 401
        return [openapi_checks.positive_data_acceptance]
    return []


def fuzz(stack: ObservedDeployment, label: str, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=OPERATIONS[label].as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same cases on every run: a failure reproduces
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=stack.base_url,
            headers=headers,
            checks=ALL_CHECKS,
            excluded_checks=excluded(label, anonymous=not headers),
            timeout=20,
        )

    run()


@pytest.mark.parametrize("label", OPERATIONS)
def test_valid_requests_with_an_admin_token_are_accepted_and_documented(stack: ObservedDeployment, label: str) -> None:
    fuzz(stack, label, GenerationMode.POSITIVE, bearer(ADMIN))


@pytest.mark.parametrize("label", NEGATIVE)
def test_invalid_requests_with_an_admin_token_are_refused_as_documented(stack: ObservedDeployment, label: str) -> None:
    fuzz(stack, label, GenerationMode.NEGATIVE, bearer(ADMIN))


@pytest.mark.parametrize("label", OPERATIONS)
def test_without_a_token_every_answer_is_documented(stack: ObservedDeployment, label: str) -> None:
    fuzz(stack, label, GenerationMode.POSITIVE, {})
