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

from local.settings import LOCAL_AUDIENCE, LOCAL_DEV_SIGNING_SECRET, LOCAL_ISSUER
from realtime.adapters.dynamodb import PK, SK, TTL_ATTRIBUTE, DynamoRepository
from realtime.auth import TokenVerifier
from realtime.config import AuthSettings, HubSettings
from realtime.domain.hub import RealtimeHub
from tests.fakes import FakeClock, FakeIdempotency, FakeSender

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
def repository(dynamodb_table: object) -> DynamoRepository:
    return DynamoRepository(dynamodb_table, TABLE)


@pytest.fixture
def hub(
    hub_settings: HubSettings,
    repository: DynamoRepository,
    sender: FakeSender,
    clock: FakeClock,
    executor: ThreadPoolExecutor,
) -> RealtimeHub:
    """The hub over moto's DynamoDB with a recording sender."""
    return RealtimeHub(
        hub_settings,
        repository=repository,
        sender=sender,
        clock=clock,
        executor=executor,
        idempotency=FakeIdempotency(),
    )
