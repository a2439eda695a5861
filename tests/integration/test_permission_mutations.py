"""The permission check (tests/test_permissions_match_calls.py) would catch a function
that calls an operation it is not granted: proved here with a deliberate mutation, an extra
Scan in the code the REST API's /status runs. The mutated run is recorded apart
(`RECORDER.diverted()`), so it never counts as what the code really does."""

from __future__ import annotations

import pytest

from infra.permissions import GRANTS
from realtime.adapters.dynamodb.connections import DynamoConnections
from tests.aws_calls import RECORDER, ungranted_calls, unused_grants
from tests.integration.conftest import Invoke
from tests.integration.test_rare_paths import rest


def test_an_operation_the_function_is_not_granted_is_reported(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    honest_count = DynamoConnections.count

    def count_with_a_scan(self: DynamoConnections) -> int:
        self.table.client.scan(TableName=self.table.name, Limit=1)  # the mutation
        return honest_count(self)

    with RECORDER.diverted() as honest:
        assert rest(invoke, "GET", "/status")[0] == 200
    assert ungranted_calls(honest, GRANTS, "rest_api") == set()

    monkeypatch.setattr(DynamoConnections, "count", count_with_a_scan)
    with RECORDER.diverted() as mutated:
        assert rest(invoke, "GET", "/status")[0] == 200
    assert ungranted_calls(mutated, GRANTS, "rest_api") == {"dynamodb:Scan"}
    assert "dynamodb:Scan" not in RECORDER.actions("rest_api")  # the real record is untouched


def test_a_call_is_recorded_against_the_function_that_made_it(invoke: Invoke) -> None:
    with RECORDER.diverted() as recorded:
        assert rest(invoke, "GET", "/status")[0] == 200
    assert set(recorded.calls) == {"rest_api"}
    assert "dynamodb:GetItem" in recorded.actions("rest_api")
    # /status alone leaves most of rest_api's row unused, and the check says which.
    assert {"dynamodb:PutItem", "execute-api:ManageConnections POST"} <= unused_grants(recorded, GRANTS, "rest_api")
