"""The composition root: the one place that builds the real adapters from the settings and
wires the use cases with them, once per cold start. Entrypoints ask it for the wired `Hub`;
the domain never imports an adapter.

    hub()              the Hub of this execution environment (cached: built at cold start)
    wire(settings, p)  the Hub over any Ports (tests pass in-memory stores and fakes)
    real_ports(s)      the AWS adapters: DynamoDB, the signed @connections sender, SQS,
                       EventBridge, the idempotency store, the clock, the fan-out pool

Clients are created once per execution environment: DynamoDB's at cold start (every
function uses it), SQS's and EventBridge's at their first call (a function that never
enqueues or emits a lifecycle event never loads their models). Endpoints come from boto3's
standard variables (AWS_ENDPOINT_URL_DYNAMODB… locally) and WEBSOCKET_CALLBACK_URL, so the
same code runs against AWS and against the local stack. What a function imports is only
what it uses: token verification (PyJWT, cryptography) is loaded by `verifier()`, each
adapter by the function that builds it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from pydantic import BaseModel

from realtime.config import HubSettings, IngestSettings, auth_settings
from realtime.domain.access import AccessPolicy
from realtime.domain.delivery import Delivery
from realtime.domain.departures import Departures, Notices
from realtime.domain.ports import (
    Clock,
    Connections,
    FanoutProgress,
    FanoutQueue,
    Idempotency,
    LatestValues,
    LifecycleNotifier,
    Memberships,
    ReplayBudget,
    Sender,
    Streams,
)
from realtime.domain.rate_limits import ActionLimiter

if TYPE_CHECKING:
    from realtime.auth import TokenVerifier
    from realtime.domain.connections import ConnectionLifecycle
    from realtime.domain.models import Identity
    from realtime.domain.publishing import Publishing
    from realtime.domain.queries import Queries
    from realtime.domain.slices import SliceDelivery
    from realtime.domain.subscriptions import Subscriptions

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Ports:
    """Everything the use cases reach outside the process."""

    connections: Connections
    memberships: Memberships
    streams: Streams
    latest: LatestValues
    progress: FanoutProgress
    replay_budget: ReplayBudget
    sender: Sender
    clock: Clock
    idempotency: Idempotency
    executor: Executor
    queue: FanoutQueue | None = None  # None: every fan-out is inline
    notifier: LifecycleNotifier | None = None  # None: no lifecycle events


class Hub:
    """The use cases, wired. What the entrypoints call.

    Each use case is built, and its module imported, when an entrypoint first asks for it:
    a function loads only the ones it calls ($connect never imports publishing's event
    types, nor the client protocol that subscriptions answer in), which is tens of
    milliseconds of pydantic models at each cold start (`python -m bench coldstart`).
    The access policy, the rate limiter and departures (which every route that touches a
    connection shares) are built at once."""

    def __init__(
        self,
        settings: HubSettings,
        ports: Ports,
        *,
        access: AccessPolicy,
        limiter: ActionLimiter,
        delivery: Delivery,
        notices: Notices,
        departures: Departures,
    ) -> None:
        self.settings = settings
        self.access = access
        self.limiter = limiter
        self.departures = departures
        self._ports = ports
        self._delivery = delivery
        self._notices = notices

    def prepare(self, *use_cases: str, models: tuple[type[BaseModel], ...] = ()) -> Hub:
        """Build these use cases and these models' validators now. A function names what
        every one of its invocations uses, so that its init pays for it (once, as before)
        rather than its first invocation; the rest is built where first used."""
        for name in use_cases:
            getattr(self, name)
        for model in models:
            model.model_rebuild()
        return self

    @cached_property
    def connections(self) -> ConnectionLifecycle:
        from realtime.domain.connections import ConnectionLifecycle

        ports = self._ports
        return ConnectionLifecycle(
            self.settings, self.access, ports.connections, self.departures, self._notices, ports.clock
        )

    @cached_property
    def subscriptions(self) -> Subscriptions:
        from realtime.domain.subscriptions import Subscriptions

        ports = self._ports
        return Subscriptions(
            self.settings,
            self.access,
            ports.streams,
            ports.memberships,
            ports.replay_budget,
            self._delivery,
            self.departures,
            self._notices,
            ports.clock,
        )

    @cached_property
    def publishing(self) -> Publishing:
        from realtime.domain.publishing import Publishing

        ports = self._ports
        return Publishing(
            self.settings,
            self.access,
            ports.streams,
            ports.memberships,
            ports.connections,
            ports.latest,
            ports.progress,
            ports.queue,
            self._delivery,
            self.departures,
            ports.idempotency,
            ports.clock,
        )

    @cached_property
    def slices(self) -> SliceDelivery:
        from realtime.domain.slices import SliceDelivery

        ports = self._ports
        return SliceDelivery(ports.memberships, ports.progress, self._delivery, self.departures)

    @cached_property
    def queries(self) -> Queries:
        from realtime.domain.queries import Queries

        ports = self._ports
        return Queries(
            self.settings,
            self.access,
            ports.connections,
            ports.memberships,
            ports.streams,
            ports.latest,
            ports.progress,
            ports.clock,
        )


def wire(settings: HubSettings, ports: Ports, *, limiter: ActionLimiter | None = None) -> Hub:
    access = AccessPolicy(
        settings.group_roles,
        connect_role=settings.connect_role,
        publish_role=settings.publish_role,
        admin_role=settings.admin_role,
        reader_role=settings.reader_role,
        publisher_role=settings.publisher_role,
    )
    delivery = Delivery(ports.sender, ports.clock, ports.executor, settings.send_max_attempts)
    notices = Notices(ports.notifier, ports.memberships, ports.clock)
    return Hub(
        settings,
        ports,
        access=access,
        limiter=limiter or ActionLimiter(settings.action_rate_per_second, settings.action_burst),
        delivery=delivery,
        notices=notices,
        departures=Departures(ports.connections, ports.memberships, delivery, notices),
    )


# -- the real adapters ------------------------------------------------------------------------


def dynamodb_client(settings: HubSettings) -> Any:
    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        max_pool_connections=max(10, settings.fanout_concurrency),
        connect_timeout=2,
        read_timeout=settings.dynamodb_read_timeout_seconds,
    )
    return boto3.client("dynamodb", config=config)


def management_api_sender(settings: HubSettings) -> Sender:
    # SigV4-signed POSTs over keep-alive sockets: ~1/10 of boto3's CPU per delivery
    # (measured by `make bench`), which is what lets one worker fan out thousands per
    # second. One attempt per call with short timeouts: the domain retries (and counts).
    from realtime.adapters.signed_sender import SignedManagementApiSender

    # boto3's default session (the DynamoDB client's): its region and credentials resolved
    # once, where a session of its own would cost this cold start ~50 ms more.
    session = default_session()
    return SignedManagementApiSender.from_session(
        str(settings.callback_url).rstrip("/"),
        session.region_name or "us-east-1",
        max_connections=settings.fanout_concurrency,
        session=session,
    )


def default_session() -> boto3.session.Session:
    """The session `boto3.client()` creates clients from."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    return boto3.DEFAULT_SESSION


def fanout_queue(settings: HubSettings) -> FanoutQueue | None:
    if settings.fanout_queue_url is None:
        return None
    from realtime.adapters.fanout_queue import SqsFanoutQueue
    from realtime.adapters.lazy_client import ClientOnFirstUse

    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
    # Only publishes to a large group enqueue: most invocations never touch SQS.
    client = ClientOnFirstUse(lambda: boto3.client("sqs", config=config))
    return SqsFanoutQueue(client, str(settings.fanout_queue_url))


def lifecycle_notifier(settings: HubSettings) -> LifecycleNotifier | None:
    from realtime.adapters.event_bus import lifecycle_notifier as notifier

    return notifier(settings)


class _IdempotencyOnFirstUse:
    """Most publishes carry no key: the persistence layer is built when one does."""

    def __init__(self, build: Callable[[], Idempotency]) -> None:
        self._build = build
        self._built: Idempotency | None = None

    def run(
        self,
        key: str | None,
        scope: tuple[str, ...],
        request: Any,
        compute: Callable[[], M],
        result: type[M],
        invocation: Any = None,
    ) -> M:
        if key is None:
            return compute()
        if self._built is None:
            self._built = self._build()
        return self._built.run(key, scope, request, compute, result, invocation)


def real_ports(settings: HubSettings) -> Ports:
    from realtime.adapters.clock import SystemClock
    from realtime.adapters.dynamodb import DynamoStores

    client = dynamodb_client(settings)
    notifier = lifecycle_notifier(settings)
    stores = DynamoStores.of(
        client,
        settings.table_name,
        shard_size=settings.member_shard_size,
        # The occupied flag costs a condition per join: kept only when someone listens.
        track_occupancy=notifier is not None,
    )

    def idempotency() -> Idempotency:
        from realtime.adapters.idempotency import IdempotentRunner

        return IdempotentRunner(settings.table_name, client)

    return Ports(
        connections=stores.connections,
        memberships=stores.memberships,
        streams=stores.streams,
        latest=stores.latest,
        progress=stores.progress,
        replay_budget=stores.replay_budget,
        sender=management_api_sender(settings),
        clock=SystemClock(),
        idempotency=_IdempotencyOnFirstUse(idempotency),
        executor=ThreadPoolExecutor(max_workers=settings.fanout_concurrency, thread_name_prefix="fanout"),
        queue=fanout_queue(settings),
        notifier=notifier,
    )


# -- what the entrypoints ask for (built once per cold start) ----------------------------------


def hub() -> Hub:
    """The Hub of this execution environment, built at its first call. It is kept per
    configuration (the HubSettings variables as they are now): in Lambda that is once per
    execution environment; the local stack, where the functions share one process, gives a
    function the environment CDK gives it (the fan-out worker's FANOUT_CONCURRENCY) while it
    loads, and that function gets a Hub of its own."""
    return _hub(_hub_environment())


# Read at class creation (no schema built): the variables HubSettings reads.
_HUB_VARIABLES = tuple(field.alias for field in HubSettings.model_fields.values() if field.alias)


def _hub_environment() -> tuple[tuple[str, str], ...]:
    return tuple((name, os.environ[name]) for name in _HUB_VARIABLES if name in os.environ)


@cache
def _hub(environment: tuple[tuple[str, str], ...]) -> Hub:
    settings = HubSettings.from_env(dict(environment))
    return wire(settings, real_ports(settings))


@cache
def verifier() -> TokenVerifier:
    from realtime.auth import TokenVerifier

    return TokenVerifier(auth_settings())


class VerifierOnFirstUse:
    """`verifier()` for a function where few invocations verify a token (WebSocket actions:
    only `refresh` does): the settings are validated at cold start, PyJWT and cryptography
    (tens of milliseconds of init) are imported at the first token."""

    def __init__(self) -> None:
        auth_settings()

    def verify(self, token: str | None) -> Identity:
        return verifier().verify(token)


@cache
def ingest_settings() -> IngestSettings:
    return IngestSettings.from_env()


@cache
def dead_letters() -> Any:
    from realtime.adapters.dead_letters import dead_letter_queue

    return dead_letter_queue(ingest_settings())
