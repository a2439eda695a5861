"""The fan-out queue: an SQS FIFO queue of slices (one message per membership shard of a
queued publish), consumed by the `fanout_worker` function, with a FIFO dead-letter queue.

A publish to a group above `fanoutQueueThreshold` members stores the message and sends one
slice per shard (MessageGroupId = group and shard, so a shard's slices go out in seq
order; MessageDeduplicationId = message id and shard, so a retried send is not delivered
twice). High-throughput FIFO: deduplication and the throughput limit are per message group,
so shards of many groups are worked on in parallel.

The workers report partial batch failures (Powertools' SqsFifoPartialProcessor): a failed
slice, and the ones behind it in its message group, come back after the visibility
timeout; after MAX_RECEIVE_COUNT receives a slice goes to the dead-letter queue, whose
depth raises an alarm (infra/monitoring.py).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import StackConfig
from infra.nag import acknowledge
from infra.permissions import QUEUE_CONSUMER_ACTIONS

# A slice that failed this many times (a poison message) goes to the dead-letter queue.
MAX_RECEIVE_COUNT = 5
# AWS's guidance for a queue feeding Lambda: a visibility timeout of at least six times the
# function's timeout, so that a batch retried by Lambda's poller is not received again meanwhile.
VISIBILITY_TIMEOUT_FACTOR = 6
# A slice is worth delivering while clients could still want it; past a few days nobody is
# waiting for it (the history serves the ones that resume).
RETENTION = Duration.days(4)
# What failed is kept as long as SQS allows, for an operator to inspect and redrive.
DEAD_LETTER_RETENTION = Duration.days(14)
# Slices per worker invocation (Lambda's maximum for a FIFO queue).
BATCH_SIZE = 10


class FanoutQueue(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, worker_timeout: Duration) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            fifo=True,  # a FIFO queue's dead-letter queue must be FIFO too
            retention_period=DEAD_LETTER_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        acknowledge(
            self.dead_letter_queue,
            "Serverless-SQSRedrivePolicy",
            "This is the fan-out queue's dead-letter queue: nothing consumes it, an operator inspects and "
            "redrives it (fanout-dlq-messages alarm); a redrive policy needs a consumer that fails first.",
        )
        # cdk-nag knows it for a dead-letter queue (the queue below redrives to it): no SQS3.
        self.queue = sqs.Queue(
            self,
            "Queue",
            fifo=True,
            # Every slice carries its own deduplication id (message id + shard).
            content_based_deduplication=False,
            # High-throughput FIFO.
            deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP,
            fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * worker_timeout.to_seconds()),
            retention_period=RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letter_queue),
            # In flight only: nothing in it outlives the publishes that sent it.
            removal_policy=RemovalPolicy.DESTROY,
        )

    def consume_with(self, worker: lambda_.IFunction, *, config: StackConfig) -> lambda_.EventSourceMapping:
        """The worker's event source mapping: batches of slices, partial failures reported,
        at most `fanoutWorkerMaxConcurrency` invocations at once."""
        # Exactly what Lambda's poller needs (AWSLambdaSQSQueueExecutionRole's SQS actions),
        # on this queue only; CDK's SqsEventSource would add GetQueueUrl and
        # ChangeMessageVisibility, which the poller does not use.
        assert worker.role is not None
        worker.role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(QUEUE_CONSUMER_ACTIONS), resources=[self.queue.queue_arn])
        )
        mapping = lambda_.EventSourceMapping(
            self,
            "WorkerMapping",
            target=worker,
            event_source_arn=self.queue.queue_arn,
            batch_size=BATCH_SIZE,
            report_batch_item_failures=True,
            max_concurrency=config.fanout_worker_max_concurrency,
        )
        # Lambda checks the role's permissions when it creates the mapping.
        mapping.node.add_dependency(worker.role)
        acknowledge(
            mapping,
            "Serverless-LambdaEventSourceMappingDestination",
            "Lambda has on-failure destinations for stream and Kafka sources, not for SQS: a slice the worker "
            "keeps failing goes to the fan-out dead-letter queue through the queue's redrive policy "
            f"(after {MAX_RECEIVE_COUNT} receives), and fanout-dlq-messages fires.",
        )
        return mapping
