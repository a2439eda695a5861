"""The stores' contract: every test here runs against the DynamoDB stores (over moto) and
their in-memory twin (tests/memory.py), so the fake the domain tests use cannot drift."""

from __future__ import annotations

from typing import Any

import pytest

from realtime.adapters.dynamodb import DynamoStores
from tests.conftest import TABLE
from tests.memory import MemoryStores


@pytest.fixture(params=["memory", "dynamodb"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make(kind: str, request: pytest.FixtureRequest) -> Any:
    """make(**options) -> fresh stores of this kind (shard_size, track_occupancy)."""

    def build(**options: Any) -> Any:
        if kind == "memory":
            return MemoryStores(**options)
        return DynamoStores.of(request.getfixturevalue("dynamodb_table"), TABLE, **options)

    return build


@pytest.fixture
def stores(make: Any) -> Any:
    return make()
