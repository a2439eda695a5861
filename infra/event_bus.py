"""The EventBridge bus: events published to dashboards come in, lifecycle events go out.

- **Ingestion.** A rule on the bus matches `detail-type` INGEST_DETAIL_TYPE ("Realtime
  Publish") from any source but the hub's own (`lifecycleSource`, so that the hub can never
  feed itself) and invokes the `ingest` function, which publishes the event's detail
  (`{group | userId, type, data}`) exactly like REST `POST /publish`. Nothing is dropped
  silently: an event the rule cannot deliver (after its retry policy) goes to the ingestion
  dead-letter queue, as does one the function fails on (after Lambda's async retries, its
  on-failure destination) and one the function refuses (invalid: its code sends it there).
- **Lifecycle events.** The functions that open, close and move connections put
  `Connection Opened/Closed` and `Group Occupied/Vacated` on the bus (source
  `lifecycleSource`); see realtime/domain/lifecycle.py.

The bus is the stack's own (`<stack>-realtime`), or an existing one named by the context
key `eventBusName` (then nothing about the bus itself is created; the rule, its target,
the dead-letter queue and the optional archive are).
"""

from __future__ import annotations

import jsii
from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import StackConfig
from infra.event_patterns import ingest_pattern
from infra.nag import acknowledge
from infra.permissions import DESTINATION_ACTIONS
from realtime.config import IngestSettings

# The detail-type the rule matches and the function accepts: IngestSettings' own default,
# which the stack also sets as INGEST_DETAIL_TYPE so that the two can never disagree.
INGEST_DETAIL_TYPE: str = IngestSettings.model_fields["detail_type"].default
# EventBridge → Lambda: an invocation is asynchronous, so EventBridge itself only retries
# failing Invoke calls (throttling, a function being updated); up to its maximum attempts,
# while the event is younger than MAX_EVENT_AGE.
RULE_RETRY_ATTEMPTS = 185
# Then Lambda runs the event, retrying a failed invocation ASYNC_RETRY_ATTEMPTS times.
ASYNC_RETRY_ATTEMPTS = 2
# A dashboard event older than this is history, not news: it goes to the dead-letter queue.
MAX_EVENT_AGE = Duration.hours(2)
DEAD_LETTER_RETENTION = Duration.days(14)


def created_bus_name(stack_name: str) -> str:
    return f"{stack_name}-realtime"


class RealtimeEventBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self.created = config.event_bus_name is None
        self.bus: events.IEventBus
        if config.event_bus_name is None:
            self.bus = events.EventBus(
                self,
                "Bus",
                event_bus_name=created_bus_name(Stack.of(self).stack_name),
                description="Real-time hub: publish events in (Realtime Publish), lifecycle events out",
            )
        else:
            self.bus = events.EventBus.from_event_bus_name(self, "Bus", config.event_bus_name)
        self.dead_letter_queue = sqs.Queue(
            self,
            "IngestDeadLetterQueue",
            retention_period=DEAD_LETTER_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This is the ingestion's dead-letter queue (refused events, and events the rule or the function "
            "could not deliver): an operator inspects it (its depth raises an alarm); nothing consumes it.",
        )
        acknowledge(
            self.dead_letter_queue,
            "Serverless-SQSRedrivePolicy",
            "This is the ingestion's dead-letter queue: nothing consumes it, an operator reads it "
            "(ingest-dlq-messages alarm); a redrive policy needs a consumer that fails first.",
        )
        self.rule: events.Rule | None = None
        self.archive: events.Archive | None = None

    @property
    def pattern(self) -> events.EventPattern:
        """Publish requests from anyone but the hub itself."""
        pattern = ingest_pattern(INGEST_DETAIL_TYPE, self._config.lifecycle_source)
        # CDK types `source` as strings: the anything-but is given through Match, and
        # tests/infra/test_messaging.py checks the rendered pattern is `pattern` exactly.
        ((_, excluded),) = pattern["source"][0].items()
        return events.EventPattern(detail_type=pattern["detail-type"], source=events.Match.anything_but(*excluded))

    def route_to(self, ingest: lambda_.IFunction) -> None:
        """The rule, its target (with retries and the dead-letter queue), the function's own
        retries and on-failure destination, and the optional archive."""
        ingest.configure_async_invoke(
            retry_attempts=ASYNC_RETRY_ATTEMPTS,
            max_event_age=MAX_EVENT_AGE,
            on_failure=_QueueDestination(self.dead_letter_queue),
        )
        # Lambda sends to the on-failure destination with the function's own role.
        ingest.add_to_role_policy(
            iam.PolicyStatement(actions=list(DESTINATION_ACTIONS), resources=[self.dead_letter_queue.queue_arn])
        )
        self.rule = events.Rule(
            self,
            "IngestRule",
            description=f"Publishes '{INGEST_DETAIL_TYPE}' events to dashboards (the ingest function)",
            event_bus=self.bus,
            event_pattern=self.pattern,
            targets=[
                targets.LambdaFunction(
                    ingest,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=RULE_RETRY_ATTEMPTS,
                    max_event_age=MAX_EVENT_AGE,
                )
            ],
        )
        if self._config.event_archive_days is not None:
            self.archive = events.Archive(
                self,
                "IngestArchive",
                source_event_bus=self.bus,
                event_pattern=self.pattern,
                retention=Duration.days(self._config.event_archive_days),
                description="Ingested publish events, for replay (context eventArchiveDays)",
            )


@jsii.implements(lambda_.IDestination)
class _QueueDestination:
    """An SQS on-failure destination that grants nothing by itself.

    CDK's SqsDestination grants sqs:SendMessage, sqs:GetQueueAttributes and sqs:GetQueueUrl;
    Lambda needs only sqs:SendMessage (infra/permissions.py: DESTINATION_ACTIONS)."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self, scope: Construct, fn: lambda_.IFunction, *, type: lambda_.DestinationType
    ) -> lambda_.DestinationConfig:
        return lambda_.DestinationConfig(destination=self._queue.queue_arn)
