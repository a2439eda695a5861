"""The queued fan-out and the event bus, as synthesized: the FIFO queue and its dead-letter
queue, the workers' event source mapping, the bus (created, or an existing one by name),
the ingestion rule with its target's retries and dead-letter queue, the ingestion's own
retries and on-failure destination, the optional archive, the alarms on all of it, and
the new functions' settings."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match

from infra.event_bus import (
    ASYNC_RETRY_ATTEMPTS,
    INGEST_DETAIL_TYPE,
    MAX_EVENT_AGE,
    RULE_RETRY_ATTEMPTS,
    created_bus_name,
)
from infra.event_patterns import ingest_pattern
from infra.fanout_queue import BATCH_SIZE, MAX_RECEIVE_COUNT, VISIBILITY_TIMEOUT_FACTOR
from tests.infra.support import (
    Synthesized,
    alias_ids,
    environment,
    function_logical_id,
    functions_by_name,
    invoked_arn,
    qualifier,
)

_FOURTEEN_DAYS = 14 * 86400


def _queues(stack: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
    """fanout / fanout-dlq / ingest-dlq → (logical id, properties)."""
    queues = {k: v["Properties"] for k, v in stack.resources("AWS::SQS::Queue").items()}
    assert len(queues) == 3
    (fanout,) = [k for k, v in queues.items() if "RedrivePolicy" in v]
    dead_letter = queues[fanout]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    (ingest,) = set(queues) - {fanout, dead_letter}
    return {
        name: (i, queues[i]) for name, i in (("fanout", fanout), ("fanout-dlq", dead_letter), ("ingest-dlq", ingest))
    }


def _timeout(stack: Synthesized, function: str) -> int:
    timeout: int = functions_by_name(stack)[function][1]["Properties"]["Timeout"]
    return timeout


def _ingest_rule(stack: Synthesized) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v["Properties"])
        for k, v in stack.resources("AWS::Events::Rule").items()
        if "EventPattern" in v["Properties"]
    ]
    return found


# -- the fan-out queue ------------------------------------------------------------------------


def test_the_fanout_queue_is_high_throughput_fifo_encrypted_with_a_dead_letter_queue(stack: Synthesized) -> None:
    queues = _queues(stack)
    fanout_id, fanout = queues["fanout"]
    dead_letter_id, dead_letter = queues["fanout-dlq"]
    assert fanout["FifoQueue"] is True
    assert fanout["ContentBasedDeduplication"] is False  # every slice carries message id + shard
    assert fanout["DeduplicationScope"] == "messageGroup"
    assert fanout["FifoThroughputLimit"] == "perMessageGroupId"
    assert fanout["SqsManagedSseEnabled"] is True
    assert fanout["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letter_id, "Arn"]},
        "maxReceiveCount": MAX_RECEIVE_COUNT,
    }
    assert MAX_RECEIVE_COUNT == 5
    # A FIFO queue's dead-letter queue is FIFO; it keeps what failed for as long as SQS allows.
    assert dead_letter["FifoQueue"] is True
    assert dead_letter["SqsManagedSseEnabled"] is True
    assert dead_letter["MessageRetentionPeriod"] == _FOURTEEN_DAYS
    assert dead_letter["MessageRetentionPeriod"] > fanout["MessageRetentionPeriod"]
    assert fanout_id != dead_letter_id


def test_the_visibility_timeout_is_six_times_the_workers_timeout(stack: Synthesized) -> None:
    (_, fanout) = _queues(stack)["fanout"]
    assert VISIBILITY_TIMEOUT_FACTOR == 6
    assert fanout["VisibilityTimeout"] >= 6 * _timeout(stack, "fanout_worker")
    assert _timeout(stack, "fanout_worker") == 120


def test_every_queue_refuses_requests_without_tls(stack: Synthesized) -> None:
    policies = [policy["Properties"] for policy in stack.resources("AWS::SQS::QueuePolicy").values()]
    for name, (queue_id, _) in _queues(stack).items():
        (policy,) = [policy for policy in policies if policy["Queues"] == [{"Ref": queue_id}]]
        denies = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert denies == [
            {
                "Action": "sqs:*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                "Effect": "Deny",
                "Principal": {"AWS": "*"},
                "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
            }
        ], name


def test_the_workers_consume_the_queue_in_batches_reporting_partial_failures(stack: Synthesized) -> None:
    (mapping,) = stack.resources("AWS::Lambda::EventSourceMapping").values()
    properties = mapping["Properties"]
    fanout_id, _ = _queues(stack)["fanout"]
    assert properties["EventSourceArn"] == {"Fn::GetAtt": [fanout_id, "Arn"]}
    alias = alias_ids(stack).get("fanout_worker")
    if alias is None:
        assert properties["FunctionName"] == {"Ref": function_logical_id(stack, "fanout_worker")}
    else:  # the function's name, qualified by the alias's
        (name, qualifier) = properties["FunctionName"]["Fn::Join"][1]
        assert name == {"Fn::Select": [6, {"Fn::Split": [":", {"Ref": alias}]}]} and qualifier == ":live"
    assert properties["BatchSize"] == BATCH_SIZE == 10
    assert properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert properties["ScalingConfig"] == {"MaximumConcurrency": stack.config.fanout_worker_max_concurrency}
    # Lambda checks the role's permissions when it creates the mapping: the policy comes first.
    assert any("FanoutWorkerRoleDefaultPolicy" in dependency for dependency in mapping["DependsOn"])


def test_worker_concurrency_follows_the_context(default: Synthesized, custom: Synthesized) -> None:
    assert default.config.fanout_worker_max_concurrency == 50
    assert custom.config.fanout_worker_max_concurrency == 10
    for stack in (default, custom):
        env = environment(stack, "fanout_worker")
        assert env["FANOUT_CONCURRENCY"] == str(stack.config.fanout_worker_concurrency)
        # The publishers keep the inline fan-out's own concurrency.
        assert environment(stack, "rest_api")["FANOUT_CONCURRENCY"] == str(stack.config.fanout_concurrency)
    assert environment(default, "fanout_worker")["FANOUT_CONCURRENCY"] == "64"


# -- the event bus and the ingestion ------------------------------------------------------------


def test_the_stack_creates_its_bus_unless_one_is_named(default: Synthesized, custom: Synthesized) -> None:
    default.template.resource_count_is("AWS::Events::EventBus", 1)
    default.template.has_resource_properties(
        "AWS::Events::EventBus", {"Name": created_bus_name(default.config.stack_name)}
    )
    (bus_id,) = default.resources("AWS::Events::EventBus")
    _, rule = _ingest_rule(default)
    assert rule["EventBusName"] == {"Ref": bus_id}

    # An existing bus by name: nothing about the bus is created, the rule is put on it.
    custom.template.resource_count_is("AWS::Events::EventBus", 0)
    custom.template.resource_count_is("AWS::Events::EventBusPolicy", 0)
    _, rule = _ingest_rule(custom)
    assert rule["EventBusName"] == custom.config.event_bus_name == "platform-events"


def test_the_rule_takes_publish_events_from_anyone_but_the_hub(stack: Synthesized) -> None:
    _, rule = _ingest_rule(stack)
    assert rule["EventPattern"] == {
        "detail-type": [INGEST_DETAIL_TYPE],
        "source": [{"anything-but": [stack.config.lifecycle_source]}],
    }
    assert INGEST_DETAIL_TYPE == "Realtime Publish"
    assert rule["State"] == "ENABLED"
    # The local bus matches with this very data (moto's pattern engine): no drift.
    assert rule["EventPattern"] == ingest_pattern(INGEST_DETAIL_TYPE, stack.config.lifecycle_source)


def test_the_rule_retries_then_dead_letters_into_the_ingestion_queue(stack: Synthesized) -> None:
    rule_id, rule = _ingest_rule(stack)
    (target,) = rule["Targets"]
    ingest = invoked_arn(stack, "ingest")
    dead_letter_id, dead_letter = _queues(stack)["ingest-dlq"]
    assert target["Arn"] == ingest
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dead_letter_id, "Arn"]}}
    assert target["RetryPolicy"] == {
        "MaximumRetryAttempts": RULE_RETRY_ATTEMPTS,
        "MaximumEventAgeInSeconds": MAX_EVENT_AGE.to_seconds(),
    }
    # A standard queue, encrypted, keeping what it holds 14 days; EventBridge may send to it
    # for this rule only.
    assert "FifoQueue" not in dead_letter
    assert dead_letter["SqsManagedSseEnabled"] is True
    assert dead_letter["MessageRetentionPeriod"] == _FOURTEEN_DAYS
    (policy,) = [
        p["Properties"]
        for p in stack.resources("AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": dead_letter_id}]
    ]
    (allow,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Action"] == "sqs:SendMessage"
    assert allow["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}
    # Only the rule invokes the function.
    permissions = [
        p["Properties"]
        for p in stack.resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] in (ingest, {"Fn::GetAtt": [function_logical_id(stack, "ingest"), "Arn"]})
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": ingest,
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        }
    ]


def test_a_failed_ingestion_is_retried_then_sent_to_the_dead_letter_queue(stack: Synthesized) -> None:
    ingest_id = function_logical_id(stack, "ingest")
    dead_letter_id, _ = _queues(stack)["ingest-dlq"]
    stack.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "FunctionName": {"Ref": ingest_id},
            "Qualifier": qualifier(stack, "ingest"),
            "MaximumRetryAttempts": ASYNC_RETRY_ATTEMPTS,
            "MaximumEventAgeInSeconds": MAX_EVENT_AGE.to_seconds(),
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [dead_letter_id, "Arn"]}}},
        },
    )
    assert ASYNC_RETRY_ATTEMPTS == 2


def test_the_archive_is_optional(default: Synthesized, custom: Synthesized) -> None:
    default.template.resource_count_is("AWS::Events::Archive", 0)
    (archive,) = custom.resources("AWS::Events::Archive").values()
    properties = archive["Properties"]
    assert properties["RetentionDays"] == custom.config.event_archive_days == 7
    _, rule = _ingest_rule(custom)
    assert properties["EventPattern"] == rule["EventPattern"]
    assert properties["SourceArn"]["Fn::Join"][1][-1] == ":event-bus/platform-events"


# -- the new functions' settings ----------------------------------------------------------------


def test_the_new_functions_get_the_queue_bus_and_ingestion_settings(stack: Synthesized) -> None:
    queues = _queues(stack)
    fanout_ref = {"Ref": queues["fanout"][0]}
    bus_name: Any = stack.config.event_bus_name
    if bus_name is None:
        (bus_id,) = stack.resources("AWS::Events::EventBus")
        bus_name = {"Ref": bus_id}
    for name in ("connect", "disconnect", "fanout_worker", "ingest", "message", "rest_api", "sweeper"):
        env = environment(stack, name)
        assert env["FANOUT_QUEUE_URL"] == fanout_ref, name
        assert env["EVENT_BUS_NAME"] == bus_name, name
        assert env["LIFECYCLE_SOURCE"] == stack.config.lifecycle_source, name
        assert env["FANOUT_QUEUE_THRESHOLD"] == str(stack.config.fanout_queue_threshold), name
        assert env["MEMBER_SHARD_SIZE"] == str(stack.config.member_shard_size), name
    ingest = environment(stack, "ingest")
    assert ingest["INGEST_DEAD_LETTER_QUEUE_URL"] == {"Ref": queues["ingest-dlq"][0]}
    assert ingest["INGEST_DETAIL_TYPE"] == INGEST_DETAIL_TYPE
    # Only the ingestion knows its dead-letter queue; nobody but the stack knows the fan-out's.
    for name in functions_by_name(stack):
        env = environment(stack, name)
        assert ("INGEST_DEAD_LETTER_QUEUE_URL" in env) == (name == "ingest"), name
        assert {"Ref": queues["fanout-dlq"][0]} not in env.values(), name


def test_the_workers_and_the_ingestion_have_their_own_timeouts(stack: Synthesized) -> None:
    assert _timeout(stack, "fanout_worker") == 120
    assert _timeout(stack, "ingest") == 60
    memory = {name: f["Properties"]["MemorySize"] for name, (_, f) in functions_by_name(stack).items()}
    assert memory["fanout_worker"] == 1024


# -- alarms -----------------------------------------------------------------------------------


def _alarm(stack: Synthesized, name: str) -> dict[str, Any]:
    (alarm,) = [
        a["Properties"]
        for a in stack.resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == f"{stack.config.stack_name}-{name}"
    ]
    return alarm


def test_a_message_in_either_dead_letter_queue_raises_an_alarm(stack: Synthesized) -> None:
    queues = _queues(stack)
    for alarm_name, queue in (("fanout-dlq-messages", "fanout-dlq"), ("ingest-dlq-messages", "ingest-dlq")):
        alarm = _alarm(stack, alarm_name)
        assert alarm["Namespace"] == "AWS/SQS"
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["Statistic"] == "Maximum"
        assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queues[queue][0], "QueueName"]}}]
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["Threshold"] == 1  # more than none


def test_a_fanout_queue_falling_behind_raises_an_alarm(stack: Synthesized) -> None:
    alarm = _alarm(stack, "fanout-queue-age")
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert alarm["Statistic"] == "Maximum"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [_queues(stack)["fanout"][0], "QueueName"]}}
    ]
    assert alarm["Threshold"] == stack.config.fanout_queue_age_alarm_seconds


def test_queues_are_kept_with_the_data_only_when_retained(default: Synthesized, custom: Synthesized) -> None:
    for stack, kept in ((default, "Retain"), (custom, "Delete")):
        queues = _queues(stack)
        resources = stack.json["Resources"]
        for name in ("fanout-dlq", "ingest-dlq"):
            assert resources[queues[name][0]]["DeletionPolicy"] == kept, name
        # The fan-out queue only holds slices in flight.
        assert resources[queues["fanout"][0]]["DeletionPolicy"] == "Delete"
    default.template.has_resource("AWS::SQS::Queue", {"DeletionPolicy": "Retain", "Properties": Match.any_value()})
