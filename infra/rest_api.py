"""The REST API backend services publish through: /api/admin/realtime/* → `rest_api`.

The health, status and OpenAPI routes are public (the function's own PUBLIC_PATHS);
everything else passes the `rest_authorizer` function first, a Lambda TOKEN authorizer
that verifies the bearer JWT with the same code as the WebSocket's $connect authorizer
(signature against the issuer's JWKS, issuer, audience, expiry, and the publish role),
whether the tokens come from the stack's Cognito user pool or an external OIDC issuer.
The `rest_api` function checks the token again (defence in depth).

Services inside AWS call the same routes under /iam/api/admin/realtime/* with SigV4 and
IAM authorization (AWS_IAM) instead of a token: API Gateway checks the signature and the
caller's execute-api:Invoke permission, and the function takes the caller to be the IAM
principal with IAM_CALLER_ROLES (publish). `publisher_policy` is the managed policy to
attach to a service's role: it allows the publish routes and following a message, and
nothing else — no history, no presence, no closing connections.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import cast

from aws_cdk import CfnElement, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct, IConstruct

from infra.config import StackConfig
from infra.log_groups import log_group
from infra.nag import acknowledge
from realtime.entrypoints.rest import (
    BASE_PATH,
    GATEWAY_RESPONSES,
    IAM_BASE_PATH,
    PUBLIC_PATHS,
    gateway_response_template,
)

AUTHORIZER_IDENTITY_SOURCE = "Authorization"
# API Gateway caches the policy per token: it allows every route of the stage
# (realtime/entrypoints/authorizers.py::authorize_rest), so a cached one is right for any.
AUTHORIZER_CACHE_TTL = Duration.minutes(5)
# What can be a bearer JWT, as realtime.auth.bearer_token reads it: "Bearer" in any case,
# a space, three base64url segments. Anything else gets 401 without invoking the authorizer.
BEARER_HEADER_PATTERN = r"^\s*[Bb][Ee][Aa][Rr][Ee][Rr] \s*[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*\s*$"

# The browser preflight (answered by API Gateway) agrees with the headers the function
# adds to its responses (realtime/entrypoints/rest.py, CORSConfig from CORS_ALLOW_ORIGINS).
CORS_ALLOW_METHODS = ["GET", "POST", "DELETE", "OPTIONS"]
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key"]
CORS_MAX_AGE = Duration.minutes(10)

# Access log fields. Never headers or the query string: the Authorization header is a token.
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "requestTime": "$context.requestTime",
    "ip": "$context.identity.sourceIp",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "integrationLatency": "$context.integration.latency",
    "principalId": "$context.authorizer.principalId",
    "caller": "$context.identity.userArn",  # the IAM routes: the signing principal
    "authorizerStatus": "$context.authorizer.status",
    "authorizerLatency": "$context.authorizer.latency",
    "authorizerError": "$context.authorizer.error",
    "errorMessage": "$context.error.message",
    "wafResponseCode": "$context.wafResponseCode",
}


class RealtimeRestApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StackConfig,
        handler: lambda_.IFunction,
        authorizer: lambda_.IFunction,
        cors_allow_origins: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = log_group(self, "AccessLogs", config=config)
        self.api = self._api(config, cors_allow_origins)
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "Authorizer",
            handler=authorizer,
            identity_source=apigw.IdentitySource.header(AUTHORIZER_IDENTITY_SOURCE),
            validation_regex=BEARER_HEADER_PATTERN,
            results_cache_ttl=AUTHORIZER_CACHE_TTL,
        )
        integration = apigw.LambdaIntegration(handler, proxy=True, allow_test_invoke=False)
        self._routes(integration)
        self.publisher_policy = self._iam_routes(integration, config.stage_name)
        self._gateway_responses(browsers=bool(cors_allow_origins))
        self._firewall(config)
        # API Gateway (REST and WebSocket alike) logs through one role per account and region.
        self.account_setting: IConstruct | None = self.api.node.try_find_child("Account")
        if self.account_setting is not None:
            acknowledge(
                self.api.node.find_child("CloudWatchRole"),
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                "The account-wide API Gateway logging role must write to the log groups of every API in the "
                "account and region; AWS maintains this policy for exactly that purpose.",
            )

    def _api(self, config: StackConfig, cors_allow_origins: Sequence[str]) -> apigw.RestApi:
        api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{Stack.of(self).stack_name}-rest",
            description="Publish events to real-time admin dashboards",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=config.api_gateway_cloudwatch_role,
            # Kept when the stack goes: other APIs of the account log through the same role.
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN if config.api_gateway_cloudwatch_role else None,
            deploy_options=apigw.StageOptions(
                stage_name=config.stage_name,
                throttling_rate_limit=config.rest_throttle_rate,
                throttling_burst_limit=config.rest_throttle_burst,
                tracing_enabled=True,
                metrics_enabled=True,
                # Execution logs at ERROR, never data traces (they would log the Authorization header).
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS, separators=(",", ":"))),
            ),
            default_cors_preflight_options=_cors(cors_allow_origins),
        )
        # The stack outputs its own RestApiUrl (with the base path); drop the L2's generic one.
        api.node.try_remove_child("Endpoint")
        return api

    def _routes(self, integration: apigw.LambdaIntegration) -> None:
        # Bodies are validated by the function (pydantic); API Gateway checks the path parameter.
        validator = self.api.add_request_validator(
            "RequestValidator", validate_request_parameters=True, validate_request_body=True
        )
        base = self.api.root.resource_for_path(BASE_PATH.strip("/"))
        for path in sorted(PUBLIC_PATHS):
            # ANY: the function answers other methods with 405 and Allow, like every route.
            method = base.add_resource(path.removeprefix(f"{BASE_PATH}/")).add_method(
                "ANY",
                integration,
                authorization_type=apigw.AuthorizationType.NONE,
                request_validator=validator,
            )
            reason = f"{path} is public by design (liveness, connection count, API doc)"
            acknowledge(method, "AwsSolutions-APIG4", reason)
            acknowledge(method, "AwsSolutions-COG4", reason)

        protected = base.add_resource("{proxy+}").add_method(
            "ANY",
            integration,
            authorizer=self.authorizer,
            authorization_type=apigw.AuthorizationType.CUSTOM,
            request_parameters={"method.request.path.proxy": True},
            request_validator=validator,
        )
        acknowledge(
            protected,
            "AwsSolutions-COG4",
            "A Lambda TOKEN authorizer (rest_authorizer) verifies the bearer JWT, from the Cognito user pool "
            "or an external OIDC issuer, with the same code as the WebSocket authorizer, and requires the "
            "publish role; a Cognito user pool authorizer can neither check roles nor verify other issuers.",
        )

    def _iam_routes(self, integration: apigw.LambdaIntegration, stage: str) -> iam.ManagedPolicy:
        """{proxy+} under the IAM base path, and the policy that lets a service publish there."""
        base = self.api.root.resource_for_path(IAM_BASE_PATH.strip("/"))
        signed = base.add_resource("{proxy+}").add_method(
            "ANY",
            integration,
            authorization_type=apigw.AuthorizationType.IAM,
            request_parameters={"method.request.path.proxy": True},
        )
        acknowledge(
            signed,
            "AwsSolutions-COG4",
            "IAM authorization (SigV4) for services inside AWS: API Gateway checks the signature and the "
            "caller's execute-api:Invoke permission; a Cognito authorizer cannot authenticate IAM principals.",
        )
        grants = {"POST": f"{IAM_BASE_PATH}/*", "GET": f"{IAM_BASE_PATH}/messages/*"}  # + GET /me: no wildcard
        policy = iam.ManagedPolicy(
            self,
            "PublisherPolicy",
            description="Publish to the real-time hub with SigV4 (the IAM routes): publish routes and "
            "message progress only",
            statements=[
                iam.PolicyStatement(
                    actions=["execute-api:Invoke"],
                    resources=[
                        *(self.api.arn_for_execute_api(method, path, stage) for method, path in grants.items()),
                        self.api.arn_for_execute_api("GET", f"{IAM_BASE_PATH}/me", stage),
                    ],
                )
            ],
        )
        api_logical_id = Stack.of(self).get_logical_id(cast(CfnElement, self.api.node.default_child))
        for method, path in grants.items():
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
                f"<{api_logical_id}>/{stage}/{method}{path}]",
                "Every POST route of the IAM base path publishes (one route per event type), and GET "
                "messages/{id} follows a published message (ids exist only at run time); no other method or "
                "path of the API is granted.",
            )
        return policy

    def _gateway_responses(self, *, browsers: bool) -> None:
        """API Gateway's own answers (refused token, no such route, throttled, too large…)
        in the error shape of the function's: {"code", "message"}. When browsers call the
        API (CORS origins, the dashboard), they carry `Access-Control-Allow-Origin: *` so a
        page can read why it was refused (an expired token's 401): they hold no data, and
        the API authenticates with a header, never a cookie."""
        headers = {"Access-Control-Allow-Origin": "'*'"} if browsers else None
        for response_type, (status, code) in GATEWAY_RESPONSES.items():
            self.api.add_gateway_response(
                f"Response{response_type.title().replace('_', '')}",
                type=getattr(apigw.ResponseType, response_type.replace("4XX", "4_XX").replace("5XX", "5_XX")),
                status_code=str(status) if status is not None else None,
                templates={"application/json": gateway_response_template(code)},
                response_headers=headers,
            )

    def _firewall(self, config: StackConfig) -> None:
        if config.web_acl_arn:
            # No L2 exists for WAFv2 associations.
            wafv2.CfnWebACLAssociation(
                self,
                "WebAcl",
                resource_arn=self.api.deployment_stage.stage_arn,
                web_acl_arn=config.web_acl_arn,
            )
            return
        acknowledge(
            self.api.deployment_stage,
            "AwsSolutions-APIG3",
            "No WAF by default (a web ACL costs $5/month + $1/rule): throttling limits abuse and every "
            "non-public request needs a valid JWT. Set context webAclArn to associate one.",
        )

    @property
    def origin(self) -> str:
        """https://{api}.execute-api.{region}.amazonaws.com: the API alone, not its stage (the
        dashboard's CSP names it, and must not depend on the deployment, which depends on
        methods whose CORS preflight names the dashboard)."""
        stack = Stack.of(self)
        return f"https://{self.api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}"

    @property
    def iam_base_url(self) -> str:
        """https://{api}.execute-api.{region}.amazonaws.com/{stage}/iam/api/admin/realtime"""
        return f"{self.api.url.rstrip('/')}{IAM_BASE_PATH}"

    @property
    def base_url(self) -> str:
        """https://{api}.execute-api.{region}.amazonaws.com/{stage}/api/admin/realtime"""
        return f"{self.api.url.rstrip('/')}{BASE_PATH}"


def _cors(origins: Sequence[str]) -> apigw.CorsOptions | None:
    if not origins:
        return None  # server-to-server callers need no CORS
    return apigw.CorsOptions(
        allow_origins=list(origins),
        allow_methods=CORS_ALLOW_METHODS,
        allow_headers=CORS_ALLOW_HEADERS,
        max_age=CORS_MAX_AGE,
    )
