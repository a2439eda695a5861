"""The WebSocket API dashboards connect to: routes, the $connect authorizer, the stage.

Routes select on `$request.body.action`: one route per client action (the protocol's own
list) plus $default, all to the `message` function; $connect (behind the REQUEST
authorizer) and $disconnect have their own functions.
"""

from __future__ import annotations

import json
from typing import cast

import jsii
from aws_cdk import CfnElement, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import StackConfig
from infra.functions import RealtimeFunctions
from infra.log_groups import log_group
from infra.nag import acknowledge
from realtime.protocol import ACTIONS

ROUTE_SELECTION_EXPRESSION = "$request.body.action"
# Browsers cannot set headers on a WebSocket: the token travels in the query string.
AUTHORIZER_IDENTITY_SOURCE = "route.request.querystring.token"

# Access log fields. Never the query string or headers: they carry bearer tokens.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "connectionId": "$context.connectionId",
    "eventType": "$context.eventType",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "ip": "$context.identity.sourceIp",
    "principalId": "$context.authorizer.principalId",
    "authorizerError": "$context.authorizer.error",
    "integrationError": "$context.integration.error",
    "integrationLatency": "$context.integrationLatency",
    "errorMessage": "$context.error.message",
}


class RealtimeWebSocketApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"{Stack.of(self).stack_name}-websocket",
            description="Real-time admin dashboards",
            route_selection_expression=ROUTE_SELECTION_EXPRESSION,
        )
        self.access_logs = log_group(self, "AccessLogs", config=config)
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=config.stage_name,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.websocket_throttle_rate, burst_limit=config.websocket_throttle_burst
            ),
            access_log_settings=_AccessLogSettings(self.access_logs),
        )

    @property
    def url(self) -> str:
        """wss://{api}.execute-api.{region}.amazonaws.com/{stage}"""
        return self.stage.url

    @property
    def origin(self) -> str:
        """wss://{api}.execute-api.{region}.amazonaws.com: the API alone, not its stage (the
        dashboard's CSP names it, and must not depend on the stage's deployment)."""
        stack = Stack.of(self)
        return f"wss://{self.api.api_id}.execute-api.{stack.region}.{stack.url_suffix}"

    @property
    def callback_url(self) -> str:
        """https://{api}.execute-api.{region}.amazonaws.com/{stage}: the @connections API."""
        return self.stage.callback_url

    def connections_arn(self, method: str) -> str:
        """arn:…:execute-api:{region}:{account}:{api}/{stage}/{method}/@connections/*"""
        return Stack.of(self).format_arn(
            service="execute-api",
            resource=self.api.api_id,
            resource_name=f"{self.stage.stage_name}/{method}/@connections/*",
        )

    def connections_arn_finding(self, method: str) -> str:
        # cdk-nag renders references as <LogicalId> and pseudo parameters as <AWS::Name>.
        api_logical_id = Stack.of(self).get_logical_id(cast(CfnElement, self.api.node.default_child))
        return (
            "Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
            f"<{api_logical_id}>/{self.stage.stage_name}/{method}/@connections/*"
        )

    def route_to(self, functions: RealtimeFunctions) -> None:
        authorizer = authorizers.WebSocketLambdaAuthorizer(
            "TokenAuthorizer", functions["authorizer"], identity_source=[AUTHORIZER_IDENTITY_SOURCE]
        )
        self.api.add_route(
            "$connect",
            integration=integrations.WebSocketLambdaIntegration("Connect", functions["connect"]),
            authorizer=authorizer,
        )
        unauthorised_routes = [
            self.api.add_route(
                "$disconnect",
                integration=integrations.WebSocketLambdaIntegration("Disconnect", functions["disconnect"]),
            )
        ]
        message = integrations.WebSocketLambdaIntegration("Message", functions["message"])
        unauthorised_routes += [self.api.add_route(key, integration=message) for key in ("$default", *ACTIONS)]
        for route in unauthorised_routes:
            reason = (
                f"Route {route.route_key!r}: API Gateway authorizes a WebSocket once, on $connect (a Lambda "
                "REQUEST authorizer verifying the JWT); later routes belong to that authorized connection "
                "and cannot have authorizers of their own."
            )
            acknowledge(route, "AwsSolutions-APIG4", reason)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """One JSON line per event in our log group."""

    def __init__(self, group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":")))
