"""The nine Lambda functions, each with its own role, log group and exactly the settings
its code reads at cold start.

Shared by all: Python 3.13 on arm64 (cheaper per GB-second than x86_64), Powertools from
its public layer, our package and PyJWT from the layer built in build/layer, X-Ray tracing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aws_cdk import Annotations, ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.build_layer import build_layer
from infra.config import FunctionName, StackConfig
from infra.event_bus import INGEST_DETAIL_TYPE
from infra.identity import JwtSettings
from infra.log_groups import log_group
from infra.nag import acknowledge
from infra.paths import FUNCTIONS_DIR
from infra.permissions import GRANTS
from realtime.config import AuthSettings, HubSettings, IngestSettings, RestSettings, Settings, settings_variables

RUNTIME = lambda_.Runtime.PYTHON_3_13
# With SnapStart, a function is invoked through this alias, on the version each deploy publishes.
SNAPSTART_ALIAS = "live"
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "handler.handler"
# Powertools for AWS Lambda (Python) publishes its layer from this account in every region.
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python313-arm64"

# Settings variables a deployed stack never sets, on purpose: their defaults apply.
NOT_DEPLOYED: dict[str, str] = {
    "JWT_HS256_SECRET": "local stack only: deployed functions verify tokens against the issuer's JWKS",
    "CONNECTION_TTL_SECONDS": "the default (2 h 5 min) follows API Gateway's 2-hour connection limit",
    "DYNAMODB_READ_TIMEOUT_SECONDS": "local stack only: moto serves one call at a time; DynamoDB keeps the 5 s default",
}


# API Gateway (WebSocket and REST alike) gives up on an integration after 29 s: a function
# behind it that ran longer would answer nobody.
INTEGRATION_TIMEOUT_SECONDS = 29
# Lambda's own maximum.
MAX_TIMEOUT_SECONDS = 900
# A resume (subscribe with `since`) replays the missed messages inside the `message`
# invocation, and stops (RecoveryFailed) once this budget is spent. The stack sets it
# (REPLAY_BUDGET_SECONDS) rather than relying on the code's default, so that it always fits
# the function's timeout: the budget is checked between pages of REPLAY_PAGE (100) messages,
# so the page in flight when it runs out, at ~50 ms a send, and the go-live transaction need
# up to REPLAY_OVERRUN_SECONDS more.
REPLAY_BUDGET_SECONDS = 20
REPLAY_OVERRUN_SECONDS = 8
# A fan-out worker delivers one slice (a membership shard, MEMBER_SHARD_SIZE members) per
# message, up to 10 per batch, each send retried with backoff: two minutes leaves room.
FANOUT_WORKER_TIMEOUT_SECONDS = 120
# The ingestion publishes inline below the queue threshold (fanoutQueueThreshold members).
INGEST_TIMEOUT_SECONDS = 60
# The settings variables that name a queue: a function's SQS grants apply to these queues,
# each only when its settings carry the URL (infra/permissions.py).
QUEUE_URL_VARIABLES = ("FANOUT_QUEUE_URL", "INGEST_DEAD_LETTER_QUEUE_URL")

# Who invokes each function and where a failed invocation goes: why none has a Lambda
# dead-letter queue (DeadLetterConfig), which only ever receives failed *asynchronous*
# invocations.
FAILED_INVOCATIONS: dict[FunctionName, str] = {
    "authorizer": "API Gateway invokes the $connect REQUEST authorizer synchronously: the connection is "
    "refused and authorizer-errors counts it; a dead-letter queue would never receive anything.",
    "connect": "The WebSocket API invokes $connect synchronously: the connection is refused and connect-errors "
    "counts it; a dead-letter queue would never receive anything.",
    "disconnect": "The WebSocket API invokes $disconnect synchronously (best effort): the sweeper removes a "
    "connection whose $disconnect failed; a dead-letter queue would never receive anything.",
    "message": "The WebSocket API invokes the action routes synchronously: the client gets the error and "
    "message-errors counts it; a dead-letter queue would never receive anything.",
    "rest_api": "The REST API invokes it synchronously (proxy integration): the caller gets the 5xx and rest-5xx "
    "fires; a dead-letter queue would never receive anything.",
    "rest_authorizer": "API Gateway invokes the REST TOKEN authorizer synchronously: the caller is refused and "
    "rest_authorizer-errors counts it; a dead-letter queue would never receive anything.",
    "sweeper": "Its schedule invokes it asynchronously with no retries on purpose: each run resumes from its "
    "cursor in the table, so the next run makes up a failed one; the scheduled event carries no data worth "
    "keeping, and sweeper-errors raises the alarm.",
    "fanout_worker": "Its SQS event source mapping invokes it synchronously: a failed slice returns to the fan-out "
    "queue and after 5 receives goes to the fan-out dead-letter queue (the queue's redrive policy).",
    "ingest": "EventBridge invokes it asynchronously, and its on-failure destination (the ingestion dead-letter "
    "queue, after 2 retries) already receives every failed invocation, with the error; a dead-letter config "
    "would add the same event without it.",
}


@dataclass(frozen=True)
class FunctionSpec:
    name: FunctionName
    description: str
    memory_mb: int
    # None: the sweep period (`sweepMinutes`), so that scheduled runs never overlap.
    timeout_seconds: int | None
    # The settings models its code loads at cold start (realtime/config.py): it gets every
    # variable of those models that the stack configures, and no other.
    settings: tuple[Settings, ...]

    def timeout(self, config: StackConfig) -> int:
        if self.timeout_seconds is not None:
            return self.timeout_seconds
        return min(config.sweep_minutes * 60, MAX_TIMEOUT_SECONDS)


# Functions behind an API stop at its 29 s; the functions that fan out get more memory
# (hence CPU) for their threads, the others stay small.
SPECS: tuple[FunctionSpec, ...] = (
    FunctionSpec("authorizer", "WebSocket $connect REQUEST authorizer (JWT)", 256, 10, (AuthSettings,)),
    FunctionSpec("connect", "WebSocket $connect: records the connection", 256, 10, (HubSettings,)),
    FunctionSpec("disconnect", "WebSocket $disconnect: removes the connection", 256, 10, (HubSettings,)),
    # Subscribe + a resume's replay (REPLAY_BUDGET_SECONDS + REPLAY_OVERRUN_SECONDS) fit in it.
    # AuthSettings: the `refresh` action verifies the new token.
    FunctionSpec(
        "message", "WebSocket actions and $default", 512, INTEGRATION_TIMEOUT_SECONDS, (HubSettings, AuthSettings)
    ),
    FunctionSpec(
        "rest_api",
        "REST API /api/admin/realtime/*",
        512,
        INTEGRATION_TIMEOUT_SECONDS,
        (HubSettings, AuthSettings, RestSettings),
    ),
    FunctionSpec("rest_authorizer", "REST API TOKEN authorizer (JWT)", 256, 10, (AuthSettings,)),
    # Reads one small Query per minute since its cursor and removes what it finds; the
    # cursor advances minute by minute, so a run cut short resumes where it stopped.
    FunctionSpec("sweeper", "Scheduled: removes connections whose $disconnect never came", 256, None, (HubSettings,)),
    # The most concurrent sends of all (fanoutWorkerConcurrency threads): the most memory, hence CPU.
    FunctionSpec(
        "fanout_worker",
        "SQS: delivers queued messages, one membership shard per record",
        1024,
        FANOUT_WORKER_TIMEOUT_SECONDS,
        (HubSettings,),
    ),
    FunctionSpec(
        "ingest",
        "EventBridge: publishes 'Realtime Publish' events like REST POST /publish",
        512,
        INGEST_TIMEOUT_SECONDS,
        (HubSettings, IngestSettings),
    ),
)
SPECS_BY_NAME: dict[FunctionName, FunctionSpec] = {spec.name: spec for spec in SPECS}


def service_name(name: FunctionName) -> str:
    """POWERTOOLS_SERVICE_NAME: the `service` dimension of the function's metrics too."""
    return f"realtime-{name.replace('_', '-')}"


@dataclass(frozen=True)
class Resources:
    """Where the functions find the stack's resources (CloudFormation references)."""

    table_name: str
    callback_url: str
    fanout_queue_url: str
    event_bus_name: str
    ingest_dead_letter_queue_url: str
    # Browser origins allowed to call the REST API: corsOrigins and the deployed dashboard's.
    cors_allow_origins: tuple[str, ...] = ()


def settings_values(config: StackConfig, *, resources: Resources, jwt: JwtSettings) -> dict[str, str]:
    """The value of every settings variable the stack configures, by variable name."""
    values = {
        "TABLE_NAME": resources.table_name,
        "WEBSOCKET_CALLBACK_URL": resources.callback_url,
        **config.hub_environment(),  # includes CONNECT_ROLE and PUBLISH_ROLE (AuthSettings reads them too)
        "REPLAY_BUDGET_SECONDS": str(REPLAY_BUDGET_SECONDS),
        "FANOUT_QUEUE_URL": resources.fanout_queue_url,
        "EVENT_BUS_NAME": resources.event_bus_name,
        "INGEST_DEAD_LETTER_QUEUE_URL": resources.ingest_dead_letter_queue_url,
        # Set rather than left to the code's default: the ingestion rule matches this value.
        "INGEST_DETAIL_TYPE": INGEST_DETAIL_TYPE,
        "JWT_ISSUER": jwt.issuer,
        "JWT_AUDIENCE": jwt.audience,
        "JWT_JWKS_URL": jwt.jwks_url,  # never JWT_HS256_SECRET: that is for the local stack only
        "JWT_ROLES_CLAIM": jwt.roles_claim,
        "JWT_SCOPES_CLAIM": config.effective_scopes_claim,
        "JWT_SCOPE_ROLES": json.dumps(config.effective_scope_roles, separators=(",", ":"), sort_keys=True),
        "JWT_LEEWAY_SECONDS": str(config.jwt_leeway_seconds),
    }
    if resources.cors_allow_origins:  # none: no CORS headers (server-to-server callers need none)
        values["CORS_ALLOW_ORIGINS"] = ",".join(resources.cors_allow_origins)
    return values


def function_values(name: FunctionName, config: StackConfig) -> dict[str, str]:
    """Settings one function gets with another value than the others: the fan-out workers
    do nothing but deliver, so they keep more sends in flight (fanoutWorkerConcurrency)."""
    if name == "fanout_worker":
        return {"FANOUT_CONCURRENCY": str(config.fanout_worker_concurrency)}
    return {}


def environment(spec: FunctionSpec, config: StackConfig, *, resources: Resources, jwt: JwtSettings) -> dict[str, str]:
    """Exactly the variables the function's code reads (tests/infra checks both ways)."""
    values = settings_values(config, resources=resources, jwt=jwt) | function_values(spec.name, config)
    env = {
        "POWERTOOLS_SERVICE_NAME": service_name(spec.name),
        "POWERTOOLS_METRICS_NAMESPACE": config.metrics_namespace,
        "POWERTOOLS_LOG_LEVEL": config.log_level,
    }
    for model in spec.settings:
        for variable in settings_variables(model).values():
            if variable in values:
                env[variable] = values[variable]
    return env


class ConnectionsApi(Protocol):
    """The WebSocket stage's @connections API, as the functions that call it see it."""

    @property
    def callback_url(self) -> str: ...

    def connections_arn(self, method: str) -> str:
        """ARN of every connection for one HTTP method, scoped to this API and stage."""
        ...

    def connections_arn_finding(self, method: str) -> str:
        """How cdk-nag names that ARN's wildcard in an AwsSolutions-IAM5 finding."""
        ...


@dataclass(frozen=True)
class Messaging:
    """The queues and the bus the functions' code sends to."""

    fanout_queue: sqs.IQueue
    ingest_dead_letter_queue: sqs.IQueue
    event_bus: events.IEventBus


class RealtimeFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        table: dynamodb.ITable,
        jwt: JwtSettings,
        connections: ConnectionsApi,
        messaging: Messaging,
        cors_allow_origins: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._table = table
        self._connections = connections
        self._messaging = messaging
        self._queues: dict[str, sqs.IQueue] = {
            "FANOUT_QUEUE_URL": messaging.fanout_queue,
            "INGEST_DEAD_LETTER_QUEUE_URL": messaging.ingest_dead_letter_queue,
        }
        assert set(self._queues) == set(QUEUE_URL_VARIABLES)
        resources = Resources(
            table_name=table.table_name,
            callback_url=connections.callback_url,
            fanout_queue_url=messaging.fanout_queue.queue_url,
            event_bus_name=messaging.event_bus.event_bus_name,
            ingest_dead_letter_queue_url=messaging.ingest_dead_letter_queue.queue_url,
            cors_allow_origins=tuple(cors_allow_origins),
        )
        self._layers = [self._powertools_layer(config), self._shared_layer()]
        self.functions: dict[FunctionName, lambda_.Function] = {}
        self.log_groups: dict[FunctionName, logs.LogGroup] = {}
        # What API Gateway, the event sources, the rule and the schedule invoke: the function,
        # or with SnapStart its alias (SnapStart never applies to $LATEST).
        self.targets: dict[FunctionName, lambda_.IFunction] = {}
        for spec in SPECS:
            function = self._function(spec, environment(spec, config, resources=resources, jwt=jwt))
            self.functions[spec.name] = function
            self.targets[spec.name] = self._alias(function) if spec.name in config.snap_start else function

    def __getitem__(self, name: FunctionName) -> lambda_.IFunction:
        """What invokes function `name` must invoke: see `targets`."""
        return self.targets[name]

    def _powertools_layer(self, config: StackConfig) -> lambda_.ILayerVersion:
        # Built from the stack's own region, so the same template deploys to any region.
        stack = Stack.of(self)
        arn = stack.format_arn(
            service="lambda",
            account=POWERTOOLS_LAYER_ACCOUNT,
            resource="layer",
            resource_name=f"{POWERTOOLS_LAYER_NAME}:{config.powertools_layer_version}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        return lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", arn)

    def _shared_layer(self) -> lambda_.LayerVersion:
        return lambda_.LayerVersion(
            self,
            "SharedLayer",
            code=lambda_.Code.from_asset(str(build_layer())),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="realtime package + PyJWT[crypto] (python3.13, arm64)",
        )

    def _function(self, spec: FunctionSpec, env: dict[str, str]) -> lambda_.Function:
        construct_id = "".join(part.capitalize() for part in spec.name.split("_"))
        logs_group = log_group(self, f"{construct_id}Logs", config=self._config)
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{service_name(spec.name)}: only what its code calls",
        )
        # Instead of AWSLambdaBasicExecutionRole (any log group): its own log group only.
        logs_group.grant_write(role)
        for statement in self._statements(spec.name, env):
            role.add_to_policy(statement)

        function = lambda_.Function(
            self,
            construct_id,
            description=spec.description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / spec.name), exclude=["__pycache__", "*.pyc", "*.pyo"]),
            layers=self._layers,
            role=role,
            environment=env,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout(self._config)),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=logs_group,
            reserved_concurrent_executions=self._config.reserved_concurrency.get(spec.name),
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if spec.name in self._config.snap_start else None,
            # The version a deploy replaces is deleted once the deploy succeeds (CDK keeps
            # it by default): a version's snapshot is billed for as long as it exists.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
        )
        self._acknowledge(spec.name, role, function)
        self.log_groups[spec.name] = logs_group
        return function

    def _alias(self, function: lambda_.Function) -> lambda_.Alias:
        # current_version publishes a new version whenever the code or configuration changes;
        # the alias moves to it, and Lambda snapshots it when it is published.
        Annotations.of(function).acknowledge_warning(
            "@aws-cdk/aws-lambda:snapStartRequirePublish",
            f"Published: every deploy's current version, invoked through the alias {SNAPSTART_ALIAS!r}.",
        )
        return lambda_.Alias(
            self, f"{function.node.id}Live", alias_name=SNAPSTART_ALIAS, version=function.current_version
        )

    def _acknowledge(self, name: FunctionName, role: iam.Role, function: lambda_.Function) -> None:
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which support no "
            "resource-level permissions (resource must be *); every other statement names its resource.",
        )
        for method in GRANTS[name].connections:
            acknowledge(
                role,
                f"AwsSolutions-IAM5[{self._connections.connections_arn_finding(method)}]",
                f"execute-api:ManageConnections for {method} @connections/*: connection ids exist only at "
                "run time; the ARN is scoped to this API, its stage and this one method.",
            )
        pinned = (
            "Pinned to python3.13 on purpose: the shared layer's compiled wheels (cffi, cryptography for "
            "cp313/abi3 aarch64) and the Powertools layer (…-python313-arm64) are built for 3.13, which "
            "Lambda supports; move all three together."
        )
        acknowledge(function, "AwsSolutions-L1", pinned)
        acknowledge(function, "Serverless-LambdaLatestVersion", pinned)
        acknowledge(function, "Serverless-LambdaDLQ", FAILED_INVOCATIONS[name])

    def _statements(self, name: FunctionName, env: dict[str, str]) -> list[iam.PolicyStatement]:
        statements = []
        grants = GRANTS[name]
        if actions := grants.table:
            statements.append(iam.PolicyStatement(actions=list(actions), resources=[self._table.table_arn]))
        if methods := grants.connections:
            statements.append(
                iam.PolicyStatement(
                    actions=["execute-api:ManageConnections"],
                    resources=[self._connections.connections_arn(method) for method in methods],
                )
            )
        if actions := grants.queues:
            queues = [queue.queue_arn for variable, queue in self._queues.items() if variable in env]
            assert queues, f"{name} calls SQS but its settings name no queue"
            statements.append(iam.PolicyStatement(actions=list(actions), resources=queues))
        if actions := grants.bus:
            assert "EVENT_BUS_NAME" in env, f"{name} calls EventBridge but its settings name no bus"
            statements.append(
                iam.PolicyStatement(
                    actions=list(actions),
                    resources=[self._messaging.event_bus.event_bus_arn],
                    # Only lifecycle events: nothing the ingestion rule would take for a publish.
                    conditions={"StringEquals": {"events:source": self._config.lifecycle_source}},
                )
            )
        return statements
