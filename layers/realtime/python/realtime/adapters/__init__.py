"""AWS adapters, and the factories that build them from the environment.

Clients are created once per cold start. Endpoints come from boto3's standard variables
(AWS_ENDPOINT_URL_DYNAMODB locally) and WEBSOCKET_CALLBACK_URL, so the same code runs
against AWS and against the local stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from realtime.adapters.clock import SystemClock
from realtime.adapters.dynamodb import DynamoRepository
from realtime.adapters.management_api import ManagementApiSender
from realtime.config import HubSettings, hub_settings

if TYPE_CHECKING:
    from realtime.idempotency import IdempotentRunner

__all__ = ["SystemClock", "dynamodb_repository", "management_api_sender", "settings"]


def settings() -> HubSettings:
    return hub_settings()


def dynamodb_repository(settings: HubSettings) -> DynamoRepository:
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max(10, settings.fanout_concurrency),
        connect_timeout=2,
        read_timeout=5,
    )
    return DynamoRepository(boto3.client("dynamodb", config=config), settings.table_name)


def idempotency_runner(settings: HubSettings) -> IdempotentRunner:
    from realtime.idempotency import IdempotentRunner

    return IdempotentRunner(settings.table_name, boto3.client("dynamodb"))


def management_api_sender(settings: HubSettings) -> ManagementApiSender:
    # Our fan-out retries throttling itself (and counts what still fails), so botocore's
    # retries are off here: one attempt per call, short timeouts well inside 29 s.
    config = Config(
        retries={"mode": "standard", "max_attempts": 1},
        max_pool_connections=settings.fanout_concurrency,
        connect_timeout=2,
        read_timeout=3,
    )
    client = boto3.client("apigatewaymanagementapi", endpoint_url=str(settings.callback_url).rstrip("/"), config=config)
    return ManagementApiSender(client)
