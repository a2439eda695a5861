"""RealtimeStack: the data, the dashboard, identity, WebSocket API, the fan-out queue, the
event bus, the functions, REST API, the sweeper's schedule and monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from constructs import Construct

from infra.config import StackConfig
from infra.dashboard import Dashboard, Endpoints, dashboard_dist
from infra.data import RealtimeTable
from infra.event_bus import RealtimeEventBus
from infra.fanout_queue import FanoutQueue
from infra.functions import SPECS_BY_NAME, Messaging, RealtimeFunctions
from infra.identity import Identity
from infra.monitoring import Monitoring
from infra.rest_api import RealtimeRestApi
from infra.schedule import SweepSchedule
from infra.websocket_api import RealtimeWebSocketApi


class RealtimeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=config.stack_name,
            description="Real-time admin dashboards backend: API Gateway WebSocket + REST, Lambda, DynamoDB, "
            "SQS fan-out, EventBridge",
            **kwargs,
        )
        data = RealtimeTable(self, "Data", config=config)
        # The dashboard's distribution exists before the sign-in (its URL is the callback URL)
        # and the APIs (it is a CORS origin of the REST API); it is served once they exist.
        dashboard = (
            Dashboard(self, "Dashboard", config=config, dist=dashboard_dist(config)) if config.dashboard else None
        )
        identity = Identity(self, "Identity", config=config, dashboard_url=dashboard.url if dashboard else None)
        cors_allow_origins = [*config.cors_allow_origins, *([dashboard.origin] if dashboard else [])]
        # The API, the queue and the bus exist before the functions (these need their URLs
        # and names); the routes, the queue's consumer and the bus's rule, which need the
        # functions, are added after them.
        websocket = RealtimeWebSocketApi(self, "WebSocket", config=config)
        worker_timeout = Duration.seconds(SPECS_BY_NAME["fanout_worker"].timeout(config))
        fanout = FanoutQueue(self, "Fanout", config=config, worker_timeout=worker_timeout)
        bus = RealtimeEventBus(self, "Events", config=config)
        functions = RealtimeFunctions(
            self,
            "Functions",
            config=config,
            table=data.table,
            jwt=identity.jwt,
            connections=websocket,
            messaging=Messaging(
                fanout_queue=fanout.queue,
                ingest_dead_letter_queue=bus.dead_letter_queue,
                event_bus=bus.bus,
            ),
            cors_allow_origins=cors_allow_origins,
        )
        websocket.route_to(functions)
        fanout.consume_with(functions["fanout_worker"], config=config)
        bus.route_to(functions["ingest"])
        rest = RealtimeRestApi(
            self,
            "Rest",
            config=config,
            handler=functions["rest_api"],
            authorizer=functions["rest_authorizer"],
            cors_allow_origins=cors_allow_origins,
        )
        SweepSchedule(self, "Sweep", config=config, sweeper=functions["sweeper"])
        if rest.account_setting is not None:
            # The WebSocket stage logs through the account's API Gateway role too: set it first.
            websocket.stage.node.add_dependency(rest.account_setting)
        Monitoring(
            self,
            "Monitoring",
            config=config,
            functions=functions,
            websocket_stage=websocket.stage,
            rest_api=rest.api,
            table=data.table,
            fanout=fanout,
            bus=bus,
        )

        if dashboard is not None:
            assert identity.sign_in is not None  # every identity provider signs the dashboard in
            dashboard.serve(
                Endpoints(
                    websocket_url=websocket.url,
                    rest_url=rest.base_url,
                    websocket_origin=websocket.origin,
                    rest_origin=rest.origin,
                    sign_in=identity.sign_in,
                )
            )
            CfnOutput(self, "DashboardUrl", value=dashboard.url, description="The dashboard: sign in here")

        CfnOutput(self, "WebSocketUrl", value=websocket.url, description="Dashboards connect here (?token=JWT)")
        CfnOutput(self, "RestApiUrl", value=rest.base_url, description="Base URL of the REST API")
        CfnOutput(
            self,
            "IamRestApiUrl",
            value=rest.iam_base_url,
            description="The same routes for services signing with SigV4 (IAM authorization)",
        )
        CfnOutput(
            self,
            "PublisherPolicyArn",
            value=rest.publisher_policy.managed_policy_arn,
            description="Attach to a service's IAM role: publish over the IAM routes, nothing else",
        )
        CfnOutput(self, "CallbackUrl", value=websocket.callback_url, description="The @connections API")
        CfnOutput(self, "TableName", value=data.table.table_name)
        CfnOutput(self, "FanoutQueueUrl", value=fanout.queue.queue_url, description="Queued fan-out slices (FIFO)")
        CfnOutput(
            self,
            "FanoutDeadLetterQueueUrl",
            value=fanout.dead_letter_queue.queue_url,
            description="Slices the workers failed on 5 times",
        )
        CfnOutput(
            self,
            "IngestDeadLetterQueueUrl",
            value=bus.dead_letter_queue.queue_url,
            description="Events refused or undeliverable by the ingestion",
        )
        CfnOutput(self, "EventBusName", value=bus.bus.event_bus_name, description="Put 'Realtime Publish' events here")
        CfnOutput(self, "EventBusArn", value=bus.bus.event_bus_arn)
        if identity.user_pool is not None and identity.client is not None:
            CfnOutput(self, "UserPoolId", value=identity.user_pool.user_pool_id)
            CfnOutput(self, "UserPoolClientId", value=identity.client.user_pool_client_id)
        if identity.token_url is not None and identity.service_clients:
            CfnOutput(self, "ServiceTokenUrl", value=identity.token_url, description="Services' client credentials")
        for name, client in identity.service_clients.items():
            CfnOutput(
                self,
                f"ServiceClientId{name.replace('-', '')}",
                value=client.user_pool_client_id,
                description=f"App client of service {name!r} (its secret: aws cognito-idp describe-user-pool-client)",
            )
