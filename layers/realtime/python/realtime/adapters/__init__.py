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
from realtime.adapters.fanout_queue import SqsFanoutQueue
from realtime.adapters.signed_sender import SignedManagementApiSender
from realtime.config import HubSettings, hub_settings

if TYPE_CHECKING:
    from realtime.domain.ports import EventPublisher
    from realtime.idempotency import IdempotentRunner

__all__ = [
    "SystemClock",
    "dynamodb_repository",
    "event_publisher",
    "management_api_sender",
    "settings",
    "sqs_fanout_queue",
]


def settings() -> HubSettings:
    return hub_settings()


def dynamodb_repository(settings: HubSettings) -> DynamoRepository:
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max(10, settings.fanout_concurrency),
        connect_timeout=2,
        read_timeout=5,
    )
    return DynamoRepository(
        boto3.client("dynamodb", config=config), settings.table_name, shard_size=settings.member_shard_size
    )


def sqs_fanout_queue(settings: HubSettings) -> SqsFanoutQueue:
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
    return SqsFanoutQueue(boto3.client("sqs", config=config), str(settings.fanout_queue_url))


def event_publisher(settings: HubSettings) -> EventPublisher:
    from realtime.adapters import event_bus

    return event_bus.event_publisher(settings)


def idempotency_runner(settings: HubSettings) -> IdempotentRunner:
    from realtime.idempotency import IdempotentRunner

    return IdempotentRunner(settings.table_name, boto3.client("dynamodb"))


def management_api_sender(settings: HubSettings) -> SignedManagementApiSender:
    # SigV4-signed POSTs over keep-alive sockets: ~1/10 of boto3's CPU per delivery
    # (measured by `make bench`), which is what lets one worker fan out thousands per
    # second. One attempt per call with short timeouts: the domain retries (and counts).
    region = boto3.session.Session().region_name or "us-east-1"
    return SignedManagementApiSender.from_session(
        str(settings.callback_url).rstrip("/"), region, max_connections=settings.fanout_concurrency
    )
