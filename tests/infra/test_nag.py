"""cdk-nag (the AwsSolutions and Serverless packs) fails the synth on any unacknowledged
finding, and every acknowledgement in the stack answers a real finding (none is stale or
broader than it needs to be)."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import IConstruct

import infra
from infra.config import StackConfig
from infra.nag import acknowledge, add_checks, packs
from infra.stack import RealtimeStack
from tests.infra.support import CUSTOM_CONTEXT, default_context

# A queue with no DLQ (AwsSolutions-SQS3, Serverless-SQSRedrivePolicy) and no SSL-only
# policy (AwsSolutions-SQS4): the findings of one pack, then of the other.
QUEUE_FINDINGS = ("AwsSolutions-SQS3", "AwsSolutions-SQS4", "Serverless-SQSRedrivePolicy")


def _app_with_queue(tmp_path_factory: pytest.TempPathFactory) -> tuple[App, sqs.Queue]:
    app = App(outdir=str(tmp_path_factory.mktemp("nag")))
    queue = sqs.Queue(Stack(app, "Canary"), "Queue")
    add_checks(app)
    return app, queue


@pytest.mark.parametrize("unacknowledged", ["AwsSolutions-SQS4", "Serverless-SQSRedrivePolicy"])
def test_an_unacknowledged_finding_fails_the_synth(
    tmp_path_factory: pytest.TempPathFactory, unacknowledged: str
) -> None:
    app, queue = _app_with_queue(tmp_path_factory)
    for rule in QUEUE_FINDINGS:
        if rule != unacknowledged:
            acknowledge(queue, rule, "acknowledged for the test")
    with pytest.raises(RuntimeError, match=re.escape(unacknowledged)) as failure:
        app.synth()
    for rule in QUEUE_FINDINGS:
        assert (rule in str(failure.value)) == (rule == unacknowledged), rule


def test_an_unacknowledged_warning_fails_the_synth_too(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = App(outdir=str(tmp_path_factory.mktemp("nag")))
    key = dynamodb.Attribute(name="k", type=dynamodb.AttributeType.STRING)
    dynamodb.Table(Stack(app, "Canary"), "Table", partition_key=key)  # DDB3 (PITR) is a warning
    add_checks(app)
    with pytest.raises(RuntimeError, match="AwsSolutions-DDB3"):
        app.synth()


def test_an_unacknowledged_serverless_warning_fails_the_synth_too(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = App(outdir=str(tmp_path_factory.mktemp("nag")))
    # Kept forever: Serverless-CloudWatchLogGroupRetentionPeriod is a warning.
    logs.LogGroup(Stack(app, "Canary"), "Logs", retention=logs.RetentionDays.INFINITE)
    add_checks(app)
    with pytest.raises(RuntimeError, match="Serverless-CloudWatchLogGroupRetentionPeriod"):
        app.synth()


def test_acknowledged_findings_pass(tmp_path_factory: pytest.TempPathFactory) -> None:
    app, queue = _app_with_queue(tmp_path_factory)
    for rule in QUEUE_FINDINGS:
        acknowledge(queue, rule, "acknowledged for the test")
    app.synth()


@dataclass(frozen=True)
class Acknowledgement:
    path: str
    rule: str
    reason: str


@pytest.fixture(scope="module")
def acknowledgements_and_findings() -> Iterator[tuple[list[Acknowledgement], set[tuple[str, str]]]]:
    """Build both stacks with acknowledgements recorded instead of applied, and what
    every cdk-nag pack finds in them then (construct tree only: nothing is synthesized)."""
    recorded: list[Acknowledgement] = []

    def record(construct: IConstruct, rule: str, reason: str) -> None:
        recorded.append(Acknowledgement(construct.node.path, rule, reason))

    # Every infra module that acknowledges findings (imported: construction needs them all).
    modules = [importlib.import_module(f"infra.{module.name}") for module in pkgutil.iter_modules(infra.__path__)]
    modules = [module for module in modules if getattr(module, "acknowledge", None) is acknowledge]
    assert {"infra.functions", "infra.schedule", "infra.monitoring"} <= {module.__name__ for module in modules}
    with pytest.MonkeyPatch.context() as patch:
        for module in modules:
            patch.setattr(module, "acknowledge", record)
        app = App(context=default_context())
        stacks = [
            RealtimeStack(app, config.stack_name, config=config)
            for config in (
                StackConfig.from_context(default_context()),
                StackConfig.from_context(CUSTOM_CONTEXT),
            )
        ]
    findings: set[tuple[str, str]] = set()
    for stack in stacks:
        for pack in packs():
            for violation in pack.validate_scope(stack).violations:
                findings |= {(violation.rule_name, str(r.construct_path)) for r in violation.violating_resources}
    yield recorded, findings


def _covers(acknowledgement: Acknowledgement, finding: tuple[str, str]) -> bool:
    rule, path = finding
    return rule == acknowledgement.rule and (path + "/").startswith(acknowledgement.path + "/")


def test_every_acknowledgement_answers_a_finding(
    acknowledgements_and_findings: tuple[list[Acknowledgement], set[tuple[str, str]]],
) -> None:
    acknowledgements, findings = acknowledgements_and_findings
    stale = [a for a in acknowledgements if not any(_covers(a, finding) for finding in findings)]
    assert not stale


def test_every_finding_is_acknowledged_with_a_specific_reason(
    acknowledgements_and_findings: tuple[list[Acknowledgement], set[tuple[str, str]]],
) -> None:
    acknowledgements, findings = acknowledgements_and_findings
    unanswered = [f for f in findings if not any(_covers(a, f) for a in acknowledgements)]
    assert not unanswered
    for acknowledgement in acknowledgements:
        assert re.fullmatch(r"(AwsSolutions-[A-Z]+\d+|Serverless-[A-Za-z]+)(\[.+\])?", acknowledgement.rule)
        assert len(acknowledgement.reason) >= 60, acknowledgement  # a reason, not a shrug
