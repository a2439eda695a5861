"""RealtimeStack: the data, identity, WebSocket API, functions, REST API, the sweeper's
schedule and monitoring."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.config import StackConfig
from infra.data import RealtimeTable
from infra.functions import RealtimeFunctions
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
            description="Real-time admin dashboards backend: API Gateway WebSocket + REST, Lambda, DynamoDB",
            **kwargs,
        )
        data = RealtimeTable(self, "Data", config=config)
        identity = Identity(self, "Identity", config=config)
        # The API exists before the functions (they need its callback URL); its routes,
        # which need the functions, are added after them.
        websocket = RealtimeWebSocketApi(self, "WebSocket", config=config)
        functions = RealtimeFunctions(
            self,
            "Functions",
            config=config,
            table=data.table,
            jwt=identity.jwt,
            connections=websocket,
        )
        websocket.route_to(functions)
        rest = RealtimeRestApi(
            self,
            "Rest",
            config=config,
            handler=functions["rest_api"],
            authorizer=functions["rest_authorizer"],
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
        )

        CfnOutput(self, "WebSocketUrl", value=websocket.url, description="Dashboards connect here (?token=JWT)")
        CfnOutput(self, "RestApiUrl", value=rest.base_url, description="Base URL of the REST API")
        CfnOutput(self, "CallbackUrl", value=websocket.callback_url, description="The @connections API")
        CfnOutput(self, "TableName", value=data.table.table_name)
        if identity.user_pool is not None and identity.client is not None:
            CfnOutput(self, "UserPoolId", value=identity.user_pool.user_pool_id)
            CfnOutput(self, "UserPoolClientId", value=identity.client.user_pool_client_id)
