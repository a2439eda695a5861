"""The granted table actions and @connections methods are the ones the adapters call.

A new DynamoDB call (or transaction item kind) in the adapter fails this test until
infra/permissions.py grants it; a grant nothing uses fails it too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import realtime.adapters.dynamodb as dynamodb_adapter
import realtime.adapters.management_api as management_adapter
from infra.permissions import MANAGEMENT_API_METHODS, TABLE_ACTIONS

_CLIENT_CALLS = {
    "get_item": "dynamodb:GetItem",
    "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem",
    "delete_item": "dynamodb:DeleteItem",
    "batch_get_item": "dynamodb:BatchGetItem",
    "batch_write_item": "dynamodb:BatchWriteItem",
    "query": "dynamodb:Query",
    "scan": "dynamodb:Scan",
}
_TRANSACTION_ITEMS = {
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "ConditionCheck": "dynamodb:ConditionCheckItem",
}
_MANAGEMENT_CALLS = {"post_to_connection": "POST", "delete_connection": "DELETE", "get_connection": "GET"}


def _source(module: object) -> str:
    return Path(str(getattr(module, "__file__", ""))).read_text()


def _client_calls(tree: ast.AST) -> set[str]:
    """Methods called on self._client, and operations paginated with get_paginator."""
    calls = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        if isinstance(target, ast.Attribute) and target.attr == "_client":
            if node.func.attr == "get_paginator":
                first = node.args[0]
                assert isinstance(first, ast.Constant)
                calls.add(str(first.value))
            elif node.func.attr != "transact_write_items":
                calls.add(node.func.attr)
    return calls


def _transaction_items(tree: ast.AST) -> set[str]:
    return {
        key.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        for key in node.keys
        if isinstance(key, ast.Constant) and key.value in _TRANSACTION_ITEMS
    }


def test_table_grants_match_the_dynamodb_adapter() -> None:
    tree = ast.parse(_source(dynamodb_adapter))
    calls = _client_calls(tree)
    assert calls <= set(_CLIENT_CALLS), f"map these calls to IAM actions: {calls - set(_CLIENT_CALLS)}"
    used = {_CLIENT_CALLS[call] for call in calls} | {_TRANSACTION_ITEMS[i] for i in _transaction_items(tree)}
    granted = {action for actions in TABLE_ACTIONS.values() for action in actions}
    assert granted == used


def test_connection_grants_match_the_management_api_adapter() -> None:
    calls = _client_calls(ast.parse(_source(management_adapter)))
    available = {_MANAGEMENT_CALLS[call] for call in calls}
    granted = {method for methods in MANAGEMENT_API_METHODS.values() for method in methods}
    assert granted <= available
    assert "POST" in granted
    # ManagementApiSender.close (DELETE) is granted to nobody: nothing may call it yet.
    package = Path(str(dynamodb_adapter.__file__)).parent.parent
    closers = [
        path
        for path in package.rglob("*.py")
        if path.name != "management_api.py" and re.search(r"\.close\(\s*\w*connection", path.read_text())
    ]
    assert not closers or "DELETE" in granted, closers
