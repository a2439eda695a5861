"""The sweeper's schedule: an EventBridge rule runs it every `sweepMinutes` minutes.

API Gateway's $disconnect is best-effort; the sweeper removes the connections past the
2-hour limit that it never reported, so counts and presence stay exact. Each run reads only
the minutes since the previous one (a cursor in the table) and is idempotent, so a missed or
failed run is simply made up by the next: nothing is retried, and an event that waited
longer than one period is dropped, so that runs never pile up.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StackConfig
from infra.nag import acknowledge


class SweepSchedule(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, sweeper: lambda_.IFunction) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(config.sweep_minutes)
        # EventBridge invokes asynchronously; Lambda would retry a failed run twice, each
        # overlapping the next scheduled one, which redoes the same work anyway.
        sweeper.configure_async_invoke(retry_attempts=0)
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"Runs the sweeper every {config.sweep_minutes} min (context sweepMinutes)",
            schedule=events.Schedule.rate(period),
            targets=[targets.LambdaFunction(sweeper, max_event_age=period)],
        )
        acknowledge(
            sweeper.node.find_child("EventInvokeConfig"),
            "Serverless-LambdaAsyncFailureDestination",
            "A failed sweep needs no replay: the next run resumes from the cursor in the table and the "
            "scheduled event carries no data; sweeper-errors raises the alarm.",
        )
        acknowledge(
            self.rule,
            "Serverless-EventBusDLQ",
            "The schedule's events carry no data: a tick EventBridge could not deliver is made up by the next "
            "one (the sweeper resumes from its cursor), and ticks older than one period are dropped on purpose "
            "so that runs never pile up.",
        )
