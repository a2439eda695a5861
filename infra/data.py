"""The DynamoDB table: connections, memberships, sequences and counters (one table)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from infra.config import StackConfig
from realtime.adapters.dynamodb import PK, SK, TTL_ATTRIBUTE


class RealtimeTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            # Key names come from the adapter, so the two can never disagree.
            partition_key=dynamodb.Attribute(name=PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SK, type=dynamodb.AttributeType.STRING),
            # Expired connections and memberships (API Gateway drops sockets after 2 hours)
            # are deleted by DynamoDB at no cost even when $disconnect never ran.
            time_to_live_attribute=TTL_ATTRIBUTE,
            # Traffic follows dashboard usage: spiky and often idle, so pay per request.
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # An AWS managed key needs no key policy for the functions (a customer managed
            # key would have to grant each function's role kms:Decrypt/Encrypt too).
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
            deletion_protection=config.retain_data,
        )
