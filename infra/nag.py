"""cdk-nag v3 (a CDK policy-validation plugin) and the way this app acknowledges findings.

Two packs check every synth: AwsSolutions (security best practices) and Serverless
(reliability of Lambda, SQS, EventBridge, SNS and API Gateway: failure destinations,
dead-letter queues, runtimes, tracing, logging).

Every acknowledgement names the rule (and, for granular rules, the finding), sits on the
construct it is about, and says why the finding is acceptable there. A finding that is
not acknowledged fails the synth.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks, NagPack, ServerlessChecks
from constructs import IConstruct


def packs(app: App | None = None) -> list[NagPack]:
    """The cdk-nag packs the app runs (`app`: the scope a pack registers its aspects on)."""
    return [AwsSolutionsChecks(app), ServerlessChecks(app)]


def add_checks(app: App) -> None:
    Validations.of(app).add_plugins(*packs(app))


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding on `construct` and everything below it.

    `rule` is the id cdk-nag reports, e.g. "AwsSolutions-APIG4", "Serverless-LambdaDLQ" or,
    for a granular rule, "AwsSolutions-IAM5[Resource::*]". cdk-nag itself checks these (the
    id carries no plugin prefix), so a finding it does not see acknowledged fails the synth
    whatever its severity."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))
