"""Shared fixtures: settings, fakes, a moto-backed table and tokens."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# Handlers validate their configuration at import; give unit and integration tests a
# complete environment that points nowhere real.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "realtime-tests")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "RealtimeTests")

import boto3
import pytest
from moto import mock_aws

from local.runner.settings import LOCAL_AUDIENCE, LOCAL_DEV_SIGNING_SECRET, LOCAL_ISSUER
from realtime.adapters.dynamodb import PK, SK, TTL_ATTRIBUTE, DynamoStores
from realtime.auth import TokenVerifier
from realtime.bootstrap import Hub, Ports, wire
from realtime.config import AuthSettings, HubSettings
from tests.aws_calls import RECORDER, covers_every_recording_suite
from tests.fakes import FakeClock, FakeIdempotency, FakeSender
from tests.memory import MemoryStores

TABLE = "realtime-test"


@pytest.fixture
def hub_settings() -> HubSettings:
    return HubSettings.from_env({"TABLE_NAME": TABLE, "WEBSOCKET_CALLBACK_URL": "https://example.invalid/test"})


@pytest.fixture
def auth_settings() -> AuthSettings:
    return AuthSettings.from_env(
        {
            "JWT_ISSUER": LOCAL_ISSUER,
            "JWT_AUDIENCE": LOCAL_AUDIENCE,
            "JWT_HS256_SECRET": LOCAL_DEV_SIGNING_SECRET,
        }
    )


@pytest.fixture
def verifier(auth_settings: AuthSettings) -> TokenVerifier:
    return TokenVerifier(auth_settings)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        yield pool


def create_table(client: Any) -> None:
    """The table as CDK defines it (keys and TTL)."""
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": PK, "KeyType": "HASH"}, {"AttributeName": SK, "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": PK, "AttributeType": "S"},
            {"AttributeName": SK, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )


@pytest.fixture
def dynamodb_table() -> Iterator[object]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        yield client


@pytest.fixture
def dynamo(dynamodb_table: object) -> DynamoStores:
    """The DynamoDB stores over moto."""
    return DynamoStores.of(dynamodb_table, TABLE)


@pytest.fixture
def stores() -> MemoryStores:
    """The stores in memory (tests/memory.py): what domain unit tests run on."""
    return MemoryStores()


def ports_of(
    stores: Any,
    *,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
    idempotency: Any = None,
    queue: Any = None,
    notifier: Any = None,
) -> Ports:
    """Ports over any stores (MemoryStores, DynamoStores) and the fakes."""
    return Ports(
        connections=stores.connections,
        memberships=stores.memberships,
        streams=stores.streams,
        latest=stores.latest,
        progress=stores.progress,
        replay_budget=stores.replay_budget,
        sender=sender,
        clock=clock,
        idempotency=idempotency or FakeIdempotency(),
        executor=executor,
        queue=queue,
        notifier=notifier,
    )


@pytest.fixture
def hub(
    hub_settings: HubSettings,
    stores: MemoryStores,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
) -> Hub:
    """The use cases wired as in production (realtime.bootstrap.wire), over the stores in
    memory and a recording sender."""
    return wire(hub_settings, ports_of(stores, sender=sender, clock=clock, executor=executor))


# -- the AWS calls each function makes (tests/aws_calls.py) ------------------------------------

_run = {"deselected": 0}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "after_recording: runs after every other test (uses the recorded calls)")
    RECORDER.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    RECORDER.uninstall()


def pytest_deselected(items: list[pytest.Item]) -> None:
    _run["deselected"] += len(items)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The checks of the recorded calls run last, once every test has made its calls."""
    items.sort(key=lambda item: item.get_closest_marker("after_recording") is not None)


def pytest_collection_finish(session: pytest.Session) -> None:
    RECORDER.complete = covers_every_recording_suite(session.items, _run["deselected"])
