"""A dashboard and the alarms an operator needs, optionally e-mailed through SNS.

Alarms: each function's errors and throttles (the scheduled sweeper's, the fan-out
workers' and the ingestion's too); a spike of rejected WebSocket connections (4xx: the
authorizer's 401/403, throttling); REST 5xx; deliveries that failed after every retry
(`DeliveryFailures`, summed over the functions that deliver); DynamoDB throttling; any
message in either dead-letter queue (a poison fan-out slice; an event the ingestion refused
or could not deliver); a fan-out queue falling behind (its oldest slice waiting longer
than `fanoutQueueAgeAlarmSeconds`).

The hub's own metrics come from its code (Powertools Metrics, as EMF log lines: see
realtime/observability.py and the use cases in realtime/domain/): namespace POWERTOOLS_METRICS_NAMESPACE,
one dimension, `service` = POWERTOOLS_SERVICE_NAME of the function that emitted them.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import FunctionName, StackConfig
from infra.event_bus import RealtimeEventBus
from infra.fanout_queue import FanoutQueue
from infra.functions import RealtimeFunctions, service_name
from infra.nag import acknowledge

PERIOD = Duration.minutes(5)
SERVICE_DIMENSION = "service"
# hub.publish runs in the WebSocket `publish` action (message), the REST API (rest_api) and
# the EventBridge ingestion (ingest).
PUBLISHERS: tuple[FunctionName, ...] = ("message", "rest_api", "ingest")
# realtime.observability.record_deliveries: after an inline fan-out (the publishers) and
# after each page of a queued one (the workers).
DELIVERERS: tuple[FunctionName, ...] = (*PUBLISHERS, "fanout_worker")
# The lifecycle events go to the bus wherever a connection opens, closes or moves.
LIFECYCLE_EMITTERS: tuple[FunctionName, ...] = (
    "connect",
    "disconnect",
    "fanout_worker",
    "ingest",
    "message",
    "rest_api",
    "sweeper",
)
# Every metric the code emits → the functions that emit it.
APP_METRICS: dict[str, tuple[FunctionName, ...]] = {
    "ConnectionsOpened": ("connect",),  # Connections.connect
    "ConnectionsClosed": ("disconnect",),  # Connections.disconnect
    "ConnectionsExpired": ("sweeper",),  # Connections.sweep: removed without a $disconnect
    "MessagesReplayed": ("message",),  # Subscriptions.replay: messages a resume sent
    "MessagesPublished": PUBLISHERS,  # once per message, inline or queued
    "Deliveries": DELIVERERS,
    "GoneConnections": DELIVERERS,
    "DeliveryFailures": DELIVERERS,  # and Departures.reply (message) when a reply fails
    "FanoutDuration": DELIVERERS,  # milliseconds
    "MessagesQueued": PUBLISHERS,  # Publishing._enqueue: a publish handed to the workers
    "IngestRejected": ("ingest",),  # an event sent to the dead-letter queue, refused
    "LifecycleEventsFailed": LIFECYCLE_EMITTERS,  # realtime/adapters/event_bus.py: not put on the bus
    "CloseFailures": ("message", "rest_api", "sweeper"),  # domain/departures.py: DELETE @connections failed
    "UnreadableItems": ("message", "rest_api"),  # adapters/dynamodb/streams.py: unparseable, skipped
}


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        functions: RealtimeFunctions,
        websocket_stage: apigwv2.WebSocketStage,
        rest_api: apigw.RestApi,
        table: dynamodb.ITable,
        fanout: FanoutQueue,
        bus: RealtimeEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []
        self.topic = self._alarm_topic(config.alarm_email, retain=config.retain_data) if config.alarm_email else None

        self._namespace = config.metrics_namespace
        delivery_failures = self._total("DeliveryFailures")
        rejected_connections = websocket_stage.metric("ClientError", statistic="Sum", period=PERIOD)
        rest_server_errors = rest_api.metric_server_error(statistic="Sum", period=PERIOD)
        table_throttles = cloudwatch.MathExpression(
            # A series with no data in a period counts as 0 (throttle metrics exist only when throttled).
            expression="FILL(reads, 0) + FILL(writes, 0)",
            using_metrics={
                "reads": table.metric("ReadThrottleEvents", statistic="Sum", period=PERIOD),
                "writes": table.metric("WriteThrottleEvents", statistic="Sum", period=PERIOD),
            },
            label="Throttle events",
            period=PERIOD,
        )

        for name, function in functions.functions.items():
            errors = function.metric_errors(statistic="Sum", period=PERIOD)
            throttles = function.metric_throttles(statistic="Sum", period=PERIOD)
            self._alarm(f"{name}-errors", errors, 1, f"{name}: invocations failed")
            self._alarm(f"{name}-throttles", throttles, 1, f"{name}: invocations throttled (concurrency limit)")
        self._alarm(
            "websocket-rejected-connections",
            rejected_connections,
            config.connect_rejections_alarm_threshold,
            "Spike of WebSocket 4xx: tokens refused by the $connect authorizer, or throttling",
        )
        self._alarm("rest-5xx", rest_server_errors, 1, "REST API answered 5xx")
        self._alarm(
            "delivery-failures",
            delivery_failures,
            1,
            "Messages not delivered after every retry (WebSocket and REST publishes)",
        )
        self._alarm("dynamodb-throttles", table_throttles, 1, "DynamoDB throttled requests")
        self._alarm(
            "close-failures",
            self._total("CloseFailures"),
            1,
            "Closing a connection at API Gateway failed after retries (an expired token, a revocation or the "
            "sweeper): it was removed from the table, so it receives nothing, but its socket may stay open",
        )
        self._alarm(
            "unreadable-items",
            self._total("UnreadableItems"),
            1,
            "A stored message could not be read back and was skipped (the write path refuses such payloads: "
            "look for an older writer or a manual edit of the table)",
        )
        # No labels on what an alarm watches (a label makes it a metric-math query).
        dead_letters = {
            "fanout": fanout.dead_letter_queue.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=PERIOD
            ),
            "ingest": bus.dead_letter_queue.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=PERIOD
            ),
        }
        self._alarm(
            "fanout-dlq-messages",
            dead_letters["fanout"],
            1,
            "A queued fan-out slice failed 5 times and is in the fan-out dead-letter queue (its shard missed "
            "that message; see docs/deploy.md to inspect and redrive)",
        )
        self._alarm(
            "ingest-dlq-messages",
            dead_letters["ingest"],
            1,
            "An EventBridge event was refused (invalid) or could not be published: see the ingestion dead-letter queue",
        )
        queue_age = fanout.queue.metric_approximate_age_of_oldest_message(statistic="Maximum", period=PERIOD)
        self._alarm(
            "fanout-queue-age",
            queue_age,
            config.fanout_queue_age_alarm_seconds,
            f"Queued fan-out is behind: a slice has waited {config.fanout_queue_age_alarm_seconds} s or more "
            "(workers throttled, failing or at fanoutWorkerMaxConcurrency)",
        )

        self.dashboard = self._dashboard(
            functions,
            websocket_stage,
            rest_api,
            table,
            delivery_failures,
            rejected_connections,
            table_throttles,
        )
        self._messaging_widgets(fanout, queue_age, dead_letters)
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24))

    def app_metric(
        self, name: str, function: FunctionName, *, statistic: str = "Sum", label: str | None = None
    ) -> cloudwatch.Metric:
        """One of the code's metrics, as one function emits it."""
        assert function in APP_METRICS[name], f"{function} does not emit {name}"
        return cloudwatch.Metric(
            namespace=self._namespace,
            metric_name=name,
            dimensions_map={SERVICE_DIMENSION: service_name(function)},
            statistic=statistic,
            period=PERIOD,
            label=label or f"{name} ({function})",
        )

    def _total(self, name: str) -> cloudwatch.IMetric:
        """The sum over every function that emits the metric (a missing series counts as 0)."""
        functions = APP_METRICS[name]
        return cloudwatch.MathExpression(
            expression=" + ".join(f"FILL({function}, 0)" for function in functions),
            using_metrics={function: self.app_metric(name, function) for function in functions},
            label=f"{name} (all)",
            period=PERIOD,
        )

    def _alarm(self, name: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            f"Alarm-{name}",
            alarm_name=f"{Stack.of(self).stack_name}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No traffic is not a failure.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if self.topic is not None:
            alarm.add_alarm_action(actions.SnsAction(self.topic))
            alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)

    def _alarm_topic(self, email: str, *, retain: bool) -> sns.Topic:
        # An encrypted topic needs a customer managed key: CloudWatch cannot use the
        # AWS managed aws/sns key, whose policy cannot grant it access.
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the alarm notifications topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey")
        topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        subscription = topic.add_subscription(subscriptions.EmailSubscription(email))
        acknowledge(
            subscription,
            "Serverless-SNSRedrivePolicy",
            "E-mail notifications of alarms: the alarm's state and history stay in CloudWatch and on the "
            "dashboard whether or not an e-mail arrives; a queue of undelivered e-mails would need a watcher of "
            "its own.",
        )
        return topic

    def _dashboard(
        self,
        functions: RealtimeFunctions,
        stage: apigwv2.WebSocketStage,
        rest_api: apigw.RestApi,
        table: dynamodb.ITable,
        delivery_failures: cloudwatch.IMetric,
        rejected_connections: cloudwatch.IMetric,
        table_throttles: cloudwatch.IMetric,
    ) -> cloudwatch.Dashboard:
        def per_function(label: str, metric_of: str, statistic: str = "Sum") -> cloudwatch.GraphWidget:
            metrics = [
                getattr(function, metric_of)(statistic=statistic, period=PERIOD, label=name)
                for name, function in functions.functions.items()
            ]
            return cloudwatch.GraphWidget(title=label, left=metrics, width=6)

        def ws(metric_name: str) -> cloudwatch.Metric:
            return stage.metric(metric_name, statistic="Sum", period=PERIOD, label=metric_name)

        def published(name: str, title: str) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title, left=[self.app_metric(name, function) for function in APP_METRICS[name]], width=6
            )

        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=Stack.of(self).stack_name)
        dashboard.add_widgets(
            cloudwatch.GraphWidget(title="WebSocket traffic", left=[ws("ConnectCount"), ws("MessageCount")], width=8),
            cloudwatch.GraphWidget(
                title="WebSocket errors",
                left=[rejected_connections, ws("IntegrationError"), ws("ExecutionError")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Connections opened / closed / expired",
                left=[
                    self.app_metric("ConnectionsOpened", "connect", label="ConnectionsOpened"),
                    self.app_metric("ConnectionsClosed", "disconnect", label="ConnectionsClosed"),
                    # Removed by the sweeper: their $disconnect never came.
                    self.app_metric("ConnectionsExpired", "sweeper", label="ConnectionsExpired"),
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            published("MessagesPublished", "Messages published"),
            published("Deliveries", "Deliveries"),
            published("GoneConnections", "Gone connections (410, removed)"),
            cloudwatch.GraphWidget(
                title="Deliveries failed after retries",
                left=[
                    *(self.app_metric("DeliveryFailures", function) for function in APP_METRICS["DeliveryFailures"]),
                    delivery_failures,
                ],
                width=6,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Fan-out duration (ms)",
                left=[
                    self.app_metric("FanoutDuration", function, statistic=statistic, label=f"{statistic} {function}")
                    for function in APP_METRICS["FanoutDuration"]
                    for statistic in ("p50", "p99")
                ],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Messages replayed (resumes)",
                left=[self.app_metric("MessagesReplayed", "message", label="MessagesReplayed")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="REST requests",
                left=[
                    rest_api.metric_count(statistic="Sum", period=PERIOD),
                    rest_api.metric_client_error(statistic="Sum", period=PERIOD),
                    rest_api.metric_server_error(statistic="Sum", period=PERIOD),
                ],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="REST latency",
                left=[
                    rest_api.metric_latency(statistic="p50", period=PERIOD),
                    rest_api.metric_latency(statistic="p99", period=PERIOD),
                ],
                width=6,
            ),
        )
        dashboard.add_widgets(
            per_function("Invocations", "metric_invocations"),
            per_function("Errors", "metric_errors"),
            per_function("Duration p99 (ms)", "metric_duration", statistic="p99"),
            per_function("Throttles", "metric_throttles"),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="DynamoDB capacity used",
                left=[
                    table.metric_consumed_read_capacity_units(statistic="Sum", period=PERIOD),
                    table.metric_consumed_write_capacity_units(statistic="Sum", period=PERIOD),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(title="DynamoDB throttling", left=[table_throttles], width=12),
        )
        return dashboard

    def _messaging_widgets(
        self,
        fanout: FanoutQueue,
        queue_age: cloudwatch.Metric,
        dead_letters: dict[str, cloudwatch.Metric],
    ) -> None:
        """The queued fan-out, the dead-letter queues, the ingestion and the lifecycle events."""
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Queued fan-out",
                left=[
                    *(self.app_metric("MessagesQueued", f) for f in APP_METRICS["MessagesQueued"]),
                    fanout.queue.metric_number_of_messages_sent(statistic="Sum", period=PERIOD, label="Slices sent"),
                    fanout.queue.metric_approximate_number_of_messages_visible(
                        statistic="Maximum", period=PERIOD, label="Slices waiting"
                    ),
                ],
                right=[queue_age.with_(label="Oldest slice (s)")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queues",
                left=[
                    dead_letters["fanout"].with_(label="Fan-out slices"),
                    dead_letters["ingest"].with_(label="Ingested events"),
                ],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Ingested events refused",
                left=[self.app_metric("IngestRejected", "ingest", label="IngestRejected")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Lifecycle events not put on the bus",
                left=[self.app_metric("LifecycleEventsFailed", f) for f in APP_METRICS["LifecycleEventsFailed"]],
                width=6,
            ),
        )
