"""Log groups with the configured retention and removal policy (functions and API access logs),
encrypted with the stack's logs key.

CloudWatch Logs encrypts every log group at rest anyway, with keys of its own; the stack's
customer managed key (one per stack, rotated yearly) puts that encryption under the account's
control: every use of the key is in CloudTrail, and disabling it makes the logs unreadable.
Only the CloudWatch Logs service of the stack's region can use it, and only for log groups of
the stack's account and region; the functions' roles need no KMS permissions (CloudWatch Logs
encrypts what they write).
"""

from __future__ import annotations

from typing import cast

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import StackConfig

LOGS_KEY_ID = "LogsKey"
# What CloudWatch Logs needs from the key (its documentation's key policy).
LOGS_KEY_ACTIONS = ("kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*")

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    return _RETENTION[days]


def _removal_policy(config: StackConfig) -> RemovalPolicy:
    # Logs are kept with the data when the stack is retained, and go with a dev stack.
    return RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY


def logs_key(scope: Construct, *, config: StackConfig) -> kms.Key:
    """The stack's one key for its log groups (created by the first log group that needs it)."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child(LOGS_KEY_ID)
    if existing is not None:
        return cast(kms.Key, existing)
    key = kms.Key(
        stack,
        LOGS_KEY_ID,
        description=f"Encrypts the log groups of {stack.stack_name}",
        enable_key_rotation=True,
        # Kept as long as the logs it encrypts: without it they could never be read again.
        removal_policy=_removal_policy(config),
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchLogsOfThisAccountAndRegion",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.{stack.url_suffix}")],
            actions=list(LOGS_KEY_ACTIONS),
            resources=["*"],
            conditions={
                # Log group names are generated at deployment; the key serves none outside
                # the stack's account and region.
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    return key


def log_group(scope: Construct, construct_id: str, *, config: StackConfig) -> logs.LogGroup:
    return logs.LogGroup(
        scope,
        construct_id,
        retention=retention(config.log_retention_days),
        encryption_key=logs_key(scope, config=config),
        removal_policy=_removal_policy(config),
    )
