"""Each function is granted exactly the table actions and @connections methods its code
paths use, derived from the code (tests/infra/code_paths.py) rather than listed twice.

A new DynamoDB call, transaction item kind or use case reached from a handler fails this
test until infra/permissions.py grants it to that function; a grant no path of the
function uses fails it too. test_template.py checks that the roles in the templates carry
exactly infra/permissions.py's grants.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from infra.config import FUNCTION_NAMES, FunctionName
from infra.functions import SPECS
from infra.paths import FUNCTIONS_DIR, LAYER_PYTHON_DIR
from infra.permissions import MANAGEMENT_API_METHODS, TABLE_ACTIONS
from tests.infra.code_paths import Analysis, Program, analysis

_HUB = "realtime.domain.hub"


def test_every_function_has_a_handler_a_spec_and_grants() -> None:
    names = set(FUNCTION_NAMES)
    assert set(analysis().program.functions) == names
    assert {spec.name for spec in SPECS} == names
    assert set(TABLE_ACTIONS) == set(MANAGEMENT_API_METHODS) == names


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_table_grants_are_what_the_code_paths_use(function: FunctionName) -> None:
    reach = analysis().function(function)
    assert not reach.ambiguous, "type these receivers (see code_paths.py)"
    assert reach.table_actions == set(TABLE_ACTIONS[function])


@pytest.mark.parametrize("function", FUNCTION_NAMES)
def test_connection_grants_are_what_the_code_paths_use(function: FunctionName) -> None:
    assert analysis().function(function).management_api_methods == set(MANAGEMENT_API_METHODS[function])


def test_the_sweep_needs_the_cursor_the_minute_queries_and_a_disconnect() -> None:
    # Traced by hand: expired_connections reads the cursor (GetItem), Queries each minute
    # since it and writes the cursor (PutItem); remove_connection Queries the connection's
    # items, commits Deletes and counter Updates, and deletes per-user counters at zero.
    sweep = analysis().entry(_HUB, "RealtimeHub.sweep_expired")
    assert sweep.table_actions == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:DeleteItem",
        "dynamodb:UpdateItem",
    }
    assert sweep.transaction_items == {"Delete", "Update"}
    assert not sweep.management_api_methods  # it removes connections, never sends
    assert f"{_HUB}.RealtimeHub.sweep_expired" in analysis().function("sweeper").code


def test_publishing_appends_history_in_a_transaction_and_is_idempotent() -> None:
    publish = analysis().entry(_HUB, "RealtimeHub.publish")
    # group_state (GetItem, UpdateItem on first use), append (Update + Put + Delete),
    # save_latest (PutItem), members or a user's connections (Query).
    assert {"Update", "Put", "Delete"} <= publish.transaction_items
    assert "ConditionCheck" not in publish.transaction_items
    assert publish.management_api_methods == {"POST"}
    # Keyed publishes go through Powertools' persistence layer, in the same table.
    once = analysis().entry(_HUB, "RealtimeHub.once")
    assert once.table_actions == {
        "dynamodb:PutItem",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
    }
    for function in ("message", "rest_api"):
        assert "realtime.idempotency.IdempotentRunner.run" in analysis().function(function).code


def test_only_the_websocket_subscribes() -> None:
    users = {
        name for name in FUNCTION_NAMES if "dynamodb:ConditionCheckItem" in analysis().function(name).table_actions
    }
    assert users == {"message"}


def test_every_port_has_one_implementation() -> None:
    program = analysis().program
    ports = [cls for cls in program.classes.values() if cls.protocol]
    assert {cls.qualname.rpartition(".")[2] for cls in ports} >= {"ConnectionRepository", "Sender", "Clock"}
    for port in ports:
        assert len(program.implementations(port.qualname)) == 1, port.qualname


# -- the analysis notices changes to the code (run on a copy of it) -----------------------------


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    layer, functions = tmp_path / "layer", tmp_path / "functions"
    shutil.copytree(LAYER_PYTHON_DIR / "realtime", layer / "realtime", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(FUNCTIONS_DIR, functions, ignore=shutil.ignore_patterns("__pycache__"))
    return layer, functions


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def test_a_new_call_on_one_path_changes_only_the_functions_on_it(tmp_path: Path) -> None:
    layer, functions = _copy(tmp_path)
    # connection_count (REST /status) starts scanning: only rest_api reaches it.
    _edit(
        layer / "realtime/adapters/dynamodb/connections.py",
        '        item = self._get(STATS_PK, META, projection="connections")\n',
        "        self._client.scan(TableName=self._table)\n"
        '        item = self._get(STATS_PK, META, projection="connections")\n',
    )
    changed = Analysis(Program(layer, functions))
    for function in FUNCTION_NAMES:
        expected = set(TABLE_ACTIONS[function]) | ({"dynamodb:Scan"} if function == "rest_api" else set())
        assert changed.function(function).table_actions == expected, function


def test_a_new_transaction_item_kind_is_noticed(tmp_path: Path) -> None:
    layer, functions = _copy(tmp_path)
    # The disconnect transaction also checks a condition on the counters' item.
    _edit(
        layer / "realtime/adapters/dynamodb/connections.py",
        '                self._add(STATS_PK, META, "connections", -1),\n            ]\n',
        '                self._add(STATS_PK, META, "connections", -1),\n'
        '                self._check(STATS_PK, "LIMIT", "attribute_not_exists(pk)"),\n            ]\n',
    )
    changed = Analysis(Program(layer, functions))
    # Every function that can remove a connection now needs ConditionCheckItem: disconnect,
    # the sweeper, and the publishers (410 clean-up); connect never removes one.
    needs = {name for name in FUNCTION_NAMES if "dynamodb:ConditionCheckItem" in changed.function(name).table_actions}
    assert needs == {"disconnect", "message", "rest_api", "sweeper"}


def test_a_new_use_case_call_in_a_handler_is_followed(tmp_path: Path) -> None:
    layer, functions = _copy(tmp_path)
    # The sweeper starts publishing a heartbeat: it would need the publish path's grants.
    _edit(
        functions / "sweeper/handler.py",
        '    return {"removed": hub.sweep_expired()}',
        '    hub.publish_request(None, None)\n    return {"removed": hub.sweep_expired()}',
    )
    sweeper = Analysis(Program(layer, functions)).function("sweeper")
    assert f"{_HUB}.RealtimeHub.publish" in sweeper.code
    assert sweeper.management_api_methods == {"POST"}  # fan-out: not granted to the sweeper
