"""Idempotency records in DynamoDB (Powertools' persistence layer over moto): the scope of
a key is unambiguous, whatever the caller's id and the key contain, and each face has its
own key space."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from realtime.adapters.idempotency import IdempotentRunner
from realtime.errors import Conflict
from tests.conftest import TABLE


@pytest.fixture
def runner(dynamodb_table: Any) -> IdempotentRunner:
    return IdempotentRunner(TABLE, dynamodb_table)


class Tagged(BaseModel):
    tag: str


def counter() -> tuple[list[str], Any]:
    calls: list[str] = []

    def compute(tag: str) -> Any:
        def run() -> Tagged:
            calls.append(tag)
            return Tagged(tag=tag)

        return run

    return calls, compute


def test_a_separator_in_a_caller_id_cannot_collide_with_another_callers_key(runner: IdempotentRunner) -> None:
    # The review's example: with "caller\nkey" as the record key, these two were one record.
    calls, compute = counter()
    runner.run("x", ("rest", "evil\nk"), {"body": 1}, compute("first"), Tagged)
    runner.run("k\nx", ("rest", "evil"), {"body": 1}, compute("second"), Tagged)
    assert calls == ["first", "second"]


def test_a_rest_caller_cannot_claim_a_bus_events_key(runner: IdempotentRunner) -> None:
    calls, compute = counter()
    runner.run("event:123", ("rest", "eventbridge:com.acme"), {"body": 1}, compute("rest"), Tagged)
    answer = runner.run("event:123", ("eventbridge", "eventbridge:com.acme"), {"body": 2}, compute("bus"), Tagged)
    assert calls == ["rest", "bus"] and answer == Tagged(tag="bus")


def test_the_same_scope_and_key_answers_once_and_conflicts_on_another_request(runner: IdempotentRunner) -> None:
    calls, compute = counter()
    first = runner.run("k", ("websocket", "alice"), {"body": 1}, compute("first"), Tagged)
    assert runner.run("k", ("websocket", "alice"), {"body": 1}, compute("again"), Tagged) == first
    with pytest.raises(Conflict):
        runner.run("k", ("websocket", "alice"), {"body": 2}, compute("other"), Tagged)
    assert calls == ["first"]
