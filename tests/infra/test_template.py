"""What the synthesized templates contain: data, APIs, functions, the fan-out queue, the
event bus, permissions, monitoring, outputs."""

from __future__ import annotations

import json
import re
import typing
from typing import Any, cast

import jwt
import pytest
from aws_cdk.assertions import Match

from infra.config import FUNCTION_NAMES, FunctionName
from infra.functions import (
    INTEGRATION_TIMEOUT_SECONDS,
    POWERTOOLS_LAYER_ACCOUNT,
    POWERTOOLS_LAYER_NAME,
    QUEUE_URL_VARIABLES,
    REPLAY_BUDGET_SECONDS,
    REPLAY_OVERRUN_SECONDS,
)
from infra.log_groups import LOGS_KEY_ACTIONS
from infra.monitoring import APP_METRICS
from infra.permissions import DESTINATION_ACTIONS, GRANTS, QUEUE_CONSUMER_ACTIONS
from realtime.adapters.dynamodb import PK, SK, TTL_ATTRIBUTE
from realtime.auth import bearer_token
from realtime.config import HubSettings
from realtime.domain.subscriptions import REPLAY_PAGE
from realtime.protocol import ACTIONS, ClientAction
from tests.infra.support import (
    Synthesized,
    actions,
    alias_ids,
    dashboard_body,
    environment,
    function_logical_id,
    functions_by_name,
    grants,
    integration_function,
    invoked_arn,
    logical_id,
    qualifier,
    resolve,
    role_statements,
)

# Substrings no access-log field may contain: headers and the query string carry tokens.
_SECRET_BEARING = (
    "header",
    "querystring",
    "query",
    "useragent",
    "authorization",
    "$input",
    "$method",
    "$request",
)


# -- data -------------------------------------------------------------------------------------


def test_table_keys_ttl_recovery_billing_and_encryption(stack: Synthesized) -> None:
    stack.template.resource_count_is("AWS::DynamoDB::Table", 1)
    stack.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": PK, "KeyType": "HASH"},
                {"AttributeName": SK, "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": Match.array_with(
                [{"AttributeName": PK, "AttributeType": "S"}, {"AttributeName": SK, "AttributeType": "S"}]
            ),
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "SSESpecification": {"SSEEnabled": True},
        },
    )


def test_table_is_retained_and_protected_by_default(default: Synthesized) -> None:
    default.template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": Match.object_like({"DeletionProtectionEnabled": True}),
        },
    )
    default.template.has_resource("AWS::Cognito::UserPool", {"DeletionPolicy": "Retain"})
    for log_group in default.resources("AWS::Logs::LogGroup").values():
        assert log_group["DeletionPolicy"] == "Retain"


def test_dev_stack_destroys_everything_it_created(custom: Synthesized) -> None:
    custom.template.has_resource(
        "AWS::DynamoDB::Table",
        {"DeletionPolicy": "Delete", "Properties": Match.object_like({"DeletionProtectionEnabled": False})},
    )
    for log_group in custom.resources("AWS::Logs::LogGroup").values():
        assert log_group["DeletionPolicy"] == "Delete"


# -- WebSocket API ----------------------------------------------------------------------------


def _routes(stack: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        route["Properties"]["RouteKey"]: route["Properties"]
        for route in stack.resources("AWS::ApiGatewayV2::Route").values()
    }


def test_websocket_api_selects_routes_on_the_action(stack: Synthesized) -> None:
    stack.template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"},
    )


def test_every_route_reaches_its_function(stack: Synthesized) -> None:
    integrations = stack.resources("AWS::ApiGatewayV2::Integration")
    targets = {}
    for key, route in _routes(stack).items():
        integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
        integration = integrations[integration_id]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        targets[key] = integration_function(stack, integration["IntegrationUri"])

    expected = {"$connect": "connect", "$disconnect": "disconnect", "$default": "message"}
    expected |= {action: "message" for action in ACTIONS}
    assert targets == expected
    assert "getPresence" in targets


def test_the_protocol_lists_every_action_its_models_accept() -> None:
    """The routes come from realtime.protocol.ACTIONS; ACTIONS must be exactly the
    `action` values of the ClientAction models the dispatcher validates frames with."""
    union, *_ = typing.get_args(ClientAction)  # Annotated[A | B | …, Field(discriminator=…)]
    accepted = set()
    for model in typing.get_args(union):
        (action,) = typing.get_args(model.model_fields["action"].annotation)
        accepted.add(action)
    assert len(ACTIONS) == len(set(ACTIONS))
    assert set(ACTIONS) == accepted


def test_only_connect_is_authorized_by_the_token_authorizer(stack: Synthesized) -> None:
    routes = _routes(stack)
    (authorizer_id, authorizer) = next(iter(stack.resources("AWS::ApiGatewayV2::Authorizer").items()))
    assert routes["$connect"]["AuthorizationType"] == "CUSTOM"
    assert routes["$connect"]["AuthorizerId"] == {"Ref": authorizer_id}
    assert all(route["AuthorizationType"] == "NONE" for key, route in routes.items() if key != "$connect")

    properties = authorizer["Properties"]
    assert properties["AuthorizerType"] == "REQUEST"
    assert properties["IdentitySource"] == ["route.request.querystring.token"]
    assert integration_function(stack, properties["AuthorizerUri"]) == "authorizer"


def _assert_log_format_is_safe(log_format: str) -> dict[str, str]:
    fields: dict[str, str] = json.loads(log_format)
    for name, value in fields.items():
        assert value.startswith("$context."), name
        assert not any(part in value.lower() for part in _SECRET_BEARING), f"{name}: {value}"
    return fields


def test_websocket_stage_throttles_and_logs_without_tokens(stack: Synthesized) -> None:
    (stage,) = stack.resources("AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == stack.config.stage_name
    assert properties["AutoDeploy"] is True
    assert properties["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": stack.config.websocket_throttle_rate,
        "ThrottlingBurstLimit": stack.config.websocket_throttle_burst,
    }
    fields = _assert_log_format_is_safe(properties["AccessLogSettings"]["Format"])
    assert {"requestId", "connectionId", "eventType", "routeKey", "status", "authorizerError"} <= set(fields)
    log_group_id = properties["AccessLogSettings"]["DestinationArn"]["Fn::GetAtt"][0]
    assert stack.json["Resources"][log_group_id]["Properties"]["RetentionInDays"] == stack.config.log_retention_days


# -- REST API ---------------------------------------------------------------------------------


def _methods(stack: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    resources = stack.resources("AWS::ApiGateway::Resource")

    def path_of(reference: dict[str, Any]) -> str:
        if "Ref" not in reference:  # {"Fn::GetAtt": [api, "RootResourceId"]}
            return ""
        properties = resources[reference["Ref"]]["Properties"]
        return f"{path_of(properties['ParentId'])}/{properties['PathPart']}"

    methods = [method["Properties"] for method in stack.resources("AWS::ApiGateway::Method").values()]
    return {(path_of(method["ResourceId"]) or "/", method["HttpMethod"]): method for method in methods}


def test_rest_routes_and_who_may_call_them(stack: Synthesized) -> None:
    methods = _methods(stack)
    base = "/api/admin/realtime"
    public = {(f"{base}/{path}", "ANY") for path in ("health", "status", "openapi.json")}
    protected = (f"{base}/{{proxy+}}", "ANY")
    signed = (f"/iam{base}/{{proxy+}}", "ANY")  # IAM authorization: tests/infra/test_services.py
    assert public | {protected, signed} == {key for key in methods if key[1] != "OPTIONS"}

    for key in public:
        assert methods[key]["AuthorizationType"] == "NONE"
    for properties in methods.values():
        if properties["HttpMethod"] != "OPTIONS":
            assert integration_function(stack, properties["Integration"]["Uri"]) == "rest_api"
            assert properties["Integration"]["Type"] == "AWS_PROXY"

    # Cognito pool or external issuer alike: the rest_authorizer function's TOKEN authorizer.
    (authorizer_id, authorizer) = next(iter(stack.resources("AWS::ApiGateway::Authorizer").items()))
    stack.template.resource_count_is("AWS::ApiGateway::Authorizer", 1)
    assert methods[protected]["AuthorizationType"] == "CUSTOM"
    assert methods[protected]["AuthorizerId"] == {"Ref": authorizer_id}
    properties = authorizer["Properties"]
    assert properties["Type"] == "TOKEN"
    assert properties["IdentitySource"] == "method.request.header.Authorization"
    # The policy allows every route of the stage, so one cached for a token fits any request.
    assert properties["AuthorizerResultTtlInSeconds"] == 300
    assert integration_function(stack, properties["AuthorizerUri"]) == "rest_authorizer"


def test_only_api_gateway_invokes_the_rest_authorizer_through_that_authorizer(stack: Synthesized) -> None:
    rest_api_id = next(iter(stack.resources("AWS::ApiGateway::RestApi")))
    authorizer_id = next(iter(stack.resources("AWS::ApiGateway::Authorizer")))
    function_id = function_logical_id(stack, "rest_authorizer")
    invoked = invoked_arn(stack, "rest_authorizer")
    permissions = [
        permission["Properties"]
        for permission in stack.resources("AWS::Lambda::Permission").values()
        if permission["Properties"]["FunctionName"] in (invoked, {"Fn::GetAtt": [function_id, "Arn"]})
    ]
    assert len(permissions) == 1
    (permission,) = permissions
    assert permission["FunctionName"] == invoked
    assert permission["Principal"] == "apigateway.amazonaws.com"
    source = permission["SourceArn"]["Fn::Join"][1]
    assert source[-3:] == [{"Ref": rest_api_id}, "/authorizers/", {"Ref": authorizer_id}]


def _jwt() -> str:
    return jwt.encode({"sub": "svc", "roles": ["admin"]}, "x" * 32, algorithm="HS256")


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (f"Bearer {_jwt()}", True),
        (f"bearer {_jwt()}", True),
        (f"  BEARER   {_jwt()}  ", True),
        ("Bearer", False),
        ("Bearer not-a-jwt", False),
        (f"Basic {_jwt()}", False),
        (f"Bearer {_jwt()} extra", False),
    ],
)
def test_only_headers_that_can_carry_a_jwt_reach_the_authorizer(
    default: Synthesized, header: str, matches: bool
) -> None:
    (authorizer,) = default.resources("AWS::ApiGateway::Authorizer").values()
    pattern = authorizer["Properties"]["IdentityValidationExpression"]
    assert bool(re.search(pattern, header)) is matches
    if matches:  # and the function reads the same token from it
        assert bearer_token(header) == _jwt()


def test_cors_preflight_allows_the_configured_origins_and_the_dashboard(stack: Synthesized) -> None:
    """corsOrigins, then the dashboard's distribution (added by the stack: its origin is a
    reference, rendered here by resolve())."""
    (distribution,) = stack.resources("AWS::CloudFront::Distribution")
    dashboard = "https://" + resolve({"Fn::GetAtt": [distribution, "DomainName"]})
    origins = [*stack.config.cors_allow_origins, dashboard]
    preflights = [properties for key, properties in _methods(stack).items() if key[1] == "OPTIONS"]
    assert preflights
    for preflight in preflights:
        assert preflight["AuthorizationType"] == "NONE"  # browsers send no token with a preflight
        (response,) = preflight["Integration"]["IntegrationResponses"]
        headers = response["ResponseParameters"]
        assert headers["method.response.header.Access-Control-Allow-Headers"] == (
            "'Authorization,Content-Type,Idempotency-Key'"
        )
        assert headers["method.response.header.Access-Control-Allow-Methods"] == "'GET,POST,DELETE,OPTIONS'"
        assert headers["method.response.header.Access-Control-Max-Age"] == "'600'"
        first, *others = origins
        assert resolve(headers["method.response.header.Access-Control-Allow-Origin"]) == f"'{first}'"
        for origin in others:  # API Gateway echoes the other allowed origins
            assert f'$origin == "{origin}"' in resolve(response["ResponseTemplates"]["application/json"])
    # The function adds the CORS headers of actual responses for the same origins.
    assert resolve(environment(stack, "rest_api")["CORS_ALLOW_ORIGINS"]) == ",".join(origins)
    if stack.config.cors_origins:
        assert origins[:2] == ["https://admin.example.com", "http://localhost:5173"]


def test_rest_stage_throttles_traces_and_logs_without_tokens(stack: Synthesized) -> None:
    (stage,) = stack.resources("AWS::ApiGateway::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == stack.config.stage_name
    assert properties["TracingEnabled"] is True
    (settings,) = properties["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == stack.config.rest_throttle_rate
    assert settings["ThrottlingBurstLimit"] == stack.config.rest_throttle_burst
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    fields = _assert_log_format_is_safe(properties["AccessLogSetting"]["Format"])
    assert {
        "requestId",
        "ip",
        "httpMethod",
        "resourcePath",
        "status",
        "principalId",
        "authorizerStatus",
    } <= set(fields)


def test_waf_is_associated_only_when_configured(default: Synthesized, custom: Synthesized) -> None:
    default.template.resource_count_is("AWS::WAFv2::WebACLAssociation", 0)
    custom.template.has_resource_properties("AWS::WAFv2::WebACLAssociation", {"WebACLArn": custom.config.web_acl_arn})


def test_account_logging_role_is_optional_and_kept(default: Synthesized, custom: Synthesized) -> None:
    default.template.resource_count_is("AWS::ApiGateway::Account", 1)
    account_id = next(iter(default.resources("AWS::ApiGateway::Account")))
    (stage,) = default.resources("AWS::ApiGatewayV2::Stage").values()
    assert account_id in stage["DependsOn"]  # the WebSocket stage logs through it too
    role_id = default.resources("AWS::ApiGateway::Account")[account_id]["Properties"]["CloudWatchRoleArn"][
        "Fn::GetAtt"
    ][0]
    assert default.json["Resources"][role_id]["DeletionPolicy"] == "Retain"
    custom.template.resource_count_is("AWS::ApiGateway::Account", 0)


# -- functions --------------------------------------------------------------------------------


def test_functions_run_python313_on_arm64_with_both_layers(stack: Synthesized) -> None:
    functions = functions_by_name(stack)
    assert set(functions) == set(FUNCTION_NAMES)
    assert "sweeper" in functions
    # (The other layer is the AWS CLI of the dashboard's deployment, the CDK's own.)
    shared_layer_id = logical_id(stack, "AWS::Lambda::LayerVersion", "SharedLayer")
    powertools_suffix = (
        f":{POWERTOOLS_LAYER_ACCOUNT}:layer:{POWERTOOLS_LAYER_NAME}:{stack.config.powertools_layer_version}"
    )
    for name, (_, function) in functions.items():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.13", name
        assert properties["Architectures"] == ["arm64"], name
        assert properties["Handler"] == "handler.handler", name
        assert properties["TracingConfig"] == {"Mode": "Active"}, name
        powertools, shared = properties["Layers"]
        assert powertools["Fn::Join"][1][-1] == powertools_suffix
        assert {"Ref": "AWS::Region"} in powertools["Fn::Join"][1]  # the deployment region's layer
        assert shared == {"Ref": shared_layer_id}


def test_each_function_logs_to_its_own_group_with_the_configured_retention(stack: Synthesized) -> None:
    groups = set()
    for _, function in functions_by_name(stack).values():
        group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        groups.add(group_id)
        assert stack.json["Resources"][group_id]["Properties"]["RetentionInDays"] == stack.config.log_retention_days
    assert len(groups) == len(FUNCTION_NAMES)


def test_every_log_group_is_encrypted_with_the_stacks_logs_key(stack: Synthesized) -> None:
    (key_id,) = [k for k in stack.resources("AWS::KMS::Key") if k.startswith("LogsKey")]
    log_groups = stack.resources("AWS::Logs::LogGroup")
    # The functions', both APIs' access logs and the dashboard deployment's.
    assert len(log_groups) == len(FUNCTION_NAMES) + 3
    for log_group in log_groups.values():
        assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    key = stack.resources("AWS::KMS::Key")[key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    # As long-lived as the logs it encrypts (they are unreadable without it).
    assert key["DeletionPolicy"] == ("Retain" if stack.config.retain_data else "Delete")
    account_root, logs_service = key["Properties"]["KeyPolicy"]["Statement"]
    assert resolve(account_root["Principal"]["AWS"]) == "arn:aws:iam::123456789012:root"  # CDK's default
    # CloudWatch Logs of the stack's region only, for log groups of its account and region only.
    assert set(logs_service["Principal"]) == {"Service"}
    assert resolve(logs_service["Principal"]["Service"]) == "logs.us-east-1.amazonaws.com"
    assert actions(logs_service) == sorted(LOGS_KEY_ACTIONS)
    ((operator, condition),) = logs_service["Condition"].items()
    assert operator == "ArnLike"
    assert {k: resolve(v) for k, v in condition.items()} == {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"
    }
    # CloudWatch Logs encrypts what the functions write: no role needs the key.
    for name in FUNCTION_NAMES:
        assert not [s for s in role_statements(stack, name) if any(a.startswith("kms:") for a in actions(s))], name


def test_snap_start_is_optional_and_runs_only_published_versions(default: Synthesized, custom: Synthesized) -> None:
    """Off by default: no version, no alias, everything invokes the function. With snapStart
    (all functions in `custom`), each function snapshots its published versions, has one
    alias on the version of this deploy, and nothing invokes it but through that alias:
    $LATEST never runs from a snapshot."""
    for _, function in functions_by_name(default).values():
        assert "SnapStart" not in function["Properties"]
    default.template.resource_count_is("AWS::Lambda::Alias", 0)
    default.template.resource_count_is("AWS::Lambda::Version", 0)

    assert custom.config.snap_start == set(FUNCTION_NAMES)
    for name, (_, function) in functions_by_name(custom).items():
        assert function["Properties"]["SnapStart"] == {"ApplyOn": "PublishedVersions"}, name
    aliases = alias_ids(custom)
    assert set(aliases) == set(FUNCTION_NAMES)
    # A replaced version (and its billed snapshot) is deleted once a deploy succeeds.
    for version in custom.resources("AWS::Lambda::Version").values():
        assert (version["DeletionPolicy"], version["UpdateReplacePolicy"]) == ("Delete", "Delete")
    function_ids = {logical_id for logical_id, _ in functions_by_name(custom).values()}
    for permission in custom.resources("AWS::Lambda::Permission").values():
        target = permission["Properties"]["FunctionName"]
        assert "Fn::GetAtt" not in target or target["Fn::GetAtt"][0] not in function_ids, permission
    for config in custom.resources("AWS::Lambda::EventInvokeConfig").values():
        assert config["Properties"]["Qualifier"] != "$LATEST"


def test_reserved_concurrency_is_optional(default: Synthesized, custom: Synthesized) -> None:
    for _, function in functions_by_name(default).values():
        assert "ReservedConcurrentExecutions" not in function["Properties"]
    reserved = {
        name: function["Properties"].get("ReservedConcurrentExecutions")
        for name, (_, function) in functions_by_name(custom).items()
    }
    assert reserved == {
        "authorizer": None,
        "connect": None,
        "disconnect": None,
        "message": 50,
        "rest_api": 20,
        "rest_authorizer": None,
        "sweeper": 1,
        "fanout_worker": None,  # bounded by its event source mapping instead
        "ingest": None,
    }


def _timeouts(stack: Synthesized) -> dict[str, int]:
    return {name: function["Properties"]["Timeout"] for name, (_, function) in functions_by_name(stack).items()}


def test_functions_behind_an_api_stop_within_its_integration_timeout(stack: Synthesized) -> None:
    timeouts = _timeouts(stack)
    for name in ("authorizer", "connect", "disconnect", "message", "rest_api", "rest_authorizer"):
        assert timeouts[name] <= INTEGRATION_TIMEOUT_SECONDS == 29, name
    # Publishing fans out; a resume replays history: both get the whole 29 s.
    assert timeouts["message"] == timeouts["rest_api"] == INTEGRATION_TIMEOUT_SECONDS


def test_a_resume_fits_in_the_message_function(stack: Synthesized) -> None:
    # The budget is checked between pages: the page in flight when it runs out (one send
    # per message, ~50 ms each) and the go-live transaction still fit before the timeout.
    assert REPLAY_PAGE * 0.05 + 1 <= REPLAY_OVERRUN_SECONDS
    assert _timeouts(stack)["message"] >= REPLAY_BUDGET_SECONDS + REPLAY_OVERRUN_SECONDS
    # The stack sets the budget itself (the code's default could change); the cold-start
    # test checks that the function loads exactly this value.
    assert environment(stack, "message")["REPLAY_BUDGET_SECONDS"] == str(REPLAY_BUDGET_SECONDS)
    budget = HubSettings.model_fields["replay_budget_seconds"].metadata
    assert all(bound.le >= REPLAY_BUDGET_SECONDS for bound in budget if hasattr(bound, "le"))


def test_sweeper_runs_on_schedule_without_overlapping(stack: Synthesized) -> None:
    period = stack.config.sweep_minutes * 60
    (rule_id,) = [k for k, v in stack.resources("AWS::Events::Rule").items() if "ScheduleExpression" in v["Properties"]]
    properties = stack.resources("AWS::Events::Rule")[rule_id]["Properties"]
    rate = re.fullmatch(r"rate\((\d+) (minute|hour|day)s?\)", properties["ScheduleExpression"])
    assert rate, properties["ScheduleExpression"]
    assert int(rate.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[rate.group(2)] == period
    assert properties["State"] == "ENABLED"
    (target,) = properties["Targets"]
    sweeper_id = function_logical_id(stack, "sweeper")
    sweeper = invoked_arn(stack, "sweeper")
    assert target["Arn"] == sweeper
    # A run waits at most one period; a failed one is not retried: the next run makes it up.
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] == period
    (invoke_config,) = [
        config
        for config in stack.resources("AWS::Lambda::EventInvokeConfig").values()
        if config["Properties"]["FunctionName"] == {"Ref": sweeper_id}
    ]
    assert invoke_config["Properties"]["Qualifier"] == qualifier(stack, "sweeper")
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 0
    assert "DestinationConfig" not in invoke_config["Properties"]
    # Each run ends before the next one starts.
    assert _timeouts(stack)["sweeper"] == min(period, 900)
    # Only this rule may invoke it, and nothing invokes the rule's target but EventBridge.
    permissions = [
        permission["Properties"]
        for permission in stack.resources("AWS::Lambda::Permission").values()
        if permission["Properties"]["FunctionName"] in (sweeper, {"Fn::GetAtt": [sweeper_id, "Arn"]})
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": sweeper,
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        }
    ]


def test_powertools_environment(stack: Synthesized) -> None:
    services = set()
    for name in functions_by_name(stack):
        env = environment(stack, name)
        services.add(env["POWERTOOLS_SERVICE_NAME"])
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == stack.config.metrics_namespace
        assert env["POWERTOOLS_LOG_LEVEL"] == stack.config.log_level
        assert "JWT_HS256_SECRET" not in env  # local development only
    assert len(services) == len(FUNCTION_NAMES)


def test_token_settings_follow_the_identity_provider(default: Synthesized, custom: Synthesized) -> None:
    (pool_id,) = default.resources("AWS::Cognito::UserPool")
    (client_id,) = default.resources("AWS::Cognito::UserPoolClient")
    for name in ("authorizer", "rest_api", "rest_authorizer"):
        env = environment(default, name)
        assert env["JWT_ROLES_CLAIM"] == "cognito:groups"
        assert env["JWT_AUDIENCE"] == {"Ref": client_id}
        issuer_parts = env["JWT_ISSUER"]["Fn::Join"][1]
        assert issuer_parts == ["https://", {"Fn::GetAtt": [pool_id, "ProviderURL"]}]
        assert env["JWT_JWKS_URL"]["Fn::Join"][1][-1] == "/.well-known/jwks.json"

        env = environment(custom, name)
        assert env["JWT_ISSUER"] == "https://login.example.com/"
        assert env["JWT_AUDIENCE"] == "realtime-api"
        assert env["JWT_JWKS_URL"] == "https://login.example.com/.well-known/jwks.json"
        assert env["JWT_ROLES_CLAIM"] == "https://example.com/roles"
        assert env["CONNECT_ROLE"] == "operator"
        assert env.get("PUBLISH_ROLE", "publisher") == "publisher"  # the authorizer has no use for it
    custom.template.resource_count_is("AWS::Cognito::UserPool", 0)


def test_user_pool_is_admin_only_with_mfa_and_a_group_per_role(default: Synthesized) -> None:
    default.template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "MfaConfiguration": "ON",
            "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
            "Policies": {
                "PasswordPolicy": Match.object_like(
                    {"MinimumLength": 12, "RequireSymbols": True, "RequireUppercase": True}
                )
            },
        },
    )
    # The dashboard's sign-in (infra/dashboard.py's tests check the rest of it).
    default.template.has_resource_properties(
        "AWS::Cognito::UserPoolClient", {"GenerateSecret": False, "AllowedOAuthFlowsUserPoolClient": True}
    )
    groups = [group["Properties"]["GroupName"] for group in default.resources("AWS::Cognito::UserPoolGroup").values()]
    assert groups == ["admin", "publisher", "reader"]  # reader: read-only operators


# -- permissions ------------------------------------------------------------------------------

_XRAY = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
_LOGS = ["logs:CreateLogStream", "logs:PutLogEvents"]


def _bus_arn(stack: Synthesized) -> Any:
    if stack.config.event_bus_name is None:
        (bus_id,) = stack.resources("AWS::Events::EventBus")
        return {"Fn::GetAtt": [bus_id, "Arn"]}
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":events:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":event-bus/{stack.config.event_bus_name}",
            ],
        ]
    }


def _queue_ids(stack: Synthesized) -> dict[str, str]:
    """fanout / fanout-dlq / ingest-dlq → logical id."""
    queues = stack.resources("AWS::SQS::Queue")
    (fanout,) = [k for k, v in queues.items() if "RedrivePolicy" in v["Properties"]]
    dead_letter = queues[fanout]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    (ingest,) = set(queues) - {fanout, dead_letter}
    return {"fanout": fanout, "fanout-dlq": dead_letter, "ingest-dlq": ingest}


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _expected_grants(stack: Synthesized, name: FunctionName, function: dict[str, Any]) -> set[tuple[str, str, str]]:
    """infra/permissions.py's grants for one function, as (action, resource, condition)."""
    table_id = next(iter(stack.resources("AWS::DynamoDB::Table")))
    api_id = next(iter(stack.resources("AWS::ApiGatewayV2::Api")))
    log_group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    env = function["Properties"]["Environment"]["Variables"]
    queues = _queue_ids(stack)
    statements: list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": _LOGS, "Resource": _arn(log_group_id)},
        {"Effect": "Allow", "Action": _XRAY, "Resource": "*"},
    ]
    if GRANTS[name].table:
        statements.append({"Effect": "Allow", "Action": list(GRANTS[name].table), "Resource": _arn(table_id)})
    for method in GRANTS[name].connections:
        arn_parts = ["arn:", {"Ref": "AWS::Partition"}, ":execute-api:", {"Ref": "AWS::Region"}, ":"]
        arn_parts += [
            {"Ref": "AWS::AccountId"},
            ":",
            {"Ref": api_id},
            f"/{stack.config.stage_name}/{method}/@connections/*",
        ]
        connections = {"Fn::Join": ["", arn_parts]}
        statements.append({"Effect": "Allow", "Action": "execute-api:ManageConnections", "Resource": connections})
    if GRANTS[name].queues:
        # Every queue its settings name (their URLs are the queues' Refs), and no other.
        named = [_arn(env[variable]["Ref"]) for variable in QUEUE_URL_VARIABLES if variable in env]
        statements.append({"Effect": "Allow", "Action": list(GRANTS[name].queues), "Resource": named})
    if GRANTS[name].bus:
        condition = {"StringEquals": {"events:source": stack.config.lifecycle_source}}
        bus = _bus_arn(stack)
        statements.append(
            {"Effect": "Allow", "Action": list(GRANTS[name].bus), "Resource": bus, "Condition": condition}
        )
    # What Lambda itself needs: the workers' event source mapping, the ingestion's destination.
    if name == "fanout_worker":
        consumer = list(QUEUE_CONSUMER_ACTIONS)
        statements.append({"Effect": "Allow", "Action": consumer, "Resource": _arn(queues["fanout"])})
    if name == "ingest":
        destination = list(DESTINATION_ACTIONS)
        statements.append({"Effect": "Allow", "Action": destination, "Resource": _arn(queues["ingest-dlq"])})
    return grants(statements)


def test_each_function_has_exactly_the_permissions_its_code_uses(stack: Synthesized) -> None:
    """The grants of infra/permissions.py (which test_permissions_match_code.py derives
    from each function's code paths), on exactly their resources, plus what Lambda itself
    needs to run the function, and nothing else, on each function's own role."""
    for found, (_, function) in functions_by_name(stack).items():
        name = cast(FunctionName, found)
        assert grants(role_statements(stack, name)) == _expected_grants(stack, name, function), name


def test_queue_and_bus_grants_reach_the_right_resources(stack: Synthesized) -> None:
    """The publishers send to the fan-out queue only, the ingestion to its dead-letter queue
    too; lifecycle events go to the bus with the configured source only."""
    queues = _queue_ids(stack)
    fanout, dead_letters = json.dumps(_arn(queues["fanout"])), json.dumps(_arn(queues["ingest-dlq"]))
    sent_to = {
        name: {resource for action, resource, _ in grants(role_statements(stack, name)) if action == "sqs:SendMessage"}
        for name in functions_by_name(stack)
    }
    assert sent_to["message"] == sent_to["rest_api"] == {fanout}
    assert sent_to["ingest"] == {fanout, dead_letters}
    assert not sent_to["fanout_worker"] and not sent_to["connect"]
    assert not any(json.dumps(_arn(queues["fanout-dlq"])) in resources for resources in sent_to.values())
    for name in functions_by_name(stack):
        for action, resource, condition in grants(role_statements(stack, name)):
            if action.startswith("events:"):
                assert resource == json.dumps(_bus_arn(stack), sort_keys=True)
                assert json.loads(condition) == {"StringEquals": {"events:source": stack.config.lifecycle_source}}


def test_no_role_has_managed_policies_or_wildcard_actions(stack: Synthesized) -> None:
    for name in functions_by_name(stack):
        for statement in role_statements(stack, name):
            assert not any("*" in action for action in actions(statement)), name
    for _, function in functions_by_name(stack).values():
        role_id = function["Properties"]["Role"]["Fn::GetAtt"][0]
        assert "ManagedPolicyArns" not in stack.json["Resources"][role_id]["Properties"]


# -- monitoring -------------------------------------------------------------------------------


def _alarms(stack: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        alarm["Properties"]["AlarmName"].removeprefix(f"{stack.config.stack_name}-"): alarm["Properties"]
        for alarm in stack.resources("AWS::CloudWatch::Alarm").values()
    }


def test_alarms(stack: Synthesized) -> None:
    alarms = _alarms(stack)
    functions = set(functions_by_name(stack))
    assert set(alarms) == {f"{name}-{kind}" for name in functions for kind in ("errors", "throttles")} | {
        "websocket-rejected-connections",
        "rest-5xx",
        "delivery-failures",
        "dynamodb-throttles",
        "close-failures",
        "unreadable-items",
        "fanout-dlq-messages",
        "ingest-dlq-messages",
        "fanout-queue-age",
    }
    assert {"fanout_worker-errors", "fanout_worker-throttles", "ingest-errors"} <= set(alarms)
    assert "sweeper-errors" in alarms  # a scheduled sweep that fails is noticed
    for name in functions:
        assert alarms[f"{name}-errors"]["MetricName"] == "Errors"
        assert alarms[f"{name}-throttles"]["MetricName"] == "Throttles"
    assert alarms["websocket-rejected-connections"]["MetricName"] == "ClientError"
    assert alarms["rest-5xx"]["MetricName"] == "5XXError"
    stack.template.resource_count_is("AWS::Logs::MetricFilter", 0)  # metrics come from the code (EMF)


def test_delivery_failures_alarm_sums_what_every_publisher_emits(stack: Synthesized) -> None:
    alarm = _alarms(stack)["delivery-failures"]
    (expression,) = [query for query in alarm["Metrics"] if query.get("ReturnData")]
    emitters = APP_METRICS["DeliveryFailures"]
    assert set(emitters) >= {"message", "rest_api", "ingest", "fanout_worker"}
    assert expression["Expression"] == " + ".join(f"FILL({function}, 0)" for function in emitters)
    watched = {query["Id"]: query["MetricStat"] for query in alarm["Metrics"] if not query.get("ReturnData")}
    assert set(watched) == set(emitters)
    for function, stat in watched.items():
        assert stat["Stat"] == "Sum"
        assert stat["Period"] == 300
        assert stat["Metric"] == {
            "Namespace": stack.config.metrics_namespace,
            "MetricName": "DeliveryFailures",
            # The dimension Powertools adds: the emitting function's POWERTOOLS_SERVICE_NAME.
            "Dimensions": [{"Name": "service", "Value": environment(stack, function)["POWERTOOLS_SERVICE_NAME"]}],
        }
    assert alarm["Threshold"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"


def _dashboard_metrics(stack: Synthesized) -> dict[str, list[list[Any]]]:
    """Widget title → its metrics, as the dashboard JSON lists them."""
    return {
        widget["properties"]["title"]: widget["properties"].get("metrics", [])
        for widget in dashboard_body(stack)["widgets"]
        if "title" in widget["properties"]
    }


def test_dashboard_graphs_the_hub_metrics_per_service(stack: Synthesized) -> None:
    namespace = stack.config.metrics_namespace
    widgets = _dashboard_metrics(stack)

    def graphed(title: str) -> set[tuple[str, str, str]]:
        """(metric, service, statistic) of each custom metric in the widget."""
        return {
            (line[1], line[3], line[4]["stat"])
            for line in widgets[title]
            if line[0] == namespace and line[2] == "service"
        }

    services = {name: environment(stack, name)["POWERTOOLS_SERVICE_NAME"] for name in functions_by_name(stack)}
    deliverers = {services[name] for name in APP_METRICS["Deliveries"]}
    assert deliverers == {services[name] for name in ("message", "rest_api", "ingest", "fanout_worker")}
    assert graphed("Connections opened / closed / expired") == {
        ("ConnectionsOpened", services["connect"], "Sum"),
        ("ConnectionsClosed", services["disconnect"], "Sum"),
        ("ConnectionsExpired", services["sweeper"], "Sum"),
    }
    assert graphed("Messages replayed (resumes)") == {("MessagesReplayed", services["message"], "Sum")}
    publishers = {services[name] for name in ("message", "rest_api", "ingest")}
    assert graphed("Messages published") == {("MessagesPublished", service, "Sum") for service in publishers}
    for title, metric in [
        ("Deliveries", "Deliveries"),
        ("Gone connections (410, removed)", "GoneConnections"),
        ("Deliveries failed after retries", "DeliveryFailures"),
    ]:
        assert graphed(title) == {(metric, service, "Sum") for service in deliverers}, title
    assert graphed("Fan-out duration (ms)") == {
        ("FanoutDuration", service, statistic) for service in deliverers for statistic in ("p50", "p99")
    }
    assert graphed("Queued fan-out") == {
        ("MessagesQueued", services[name], "Sum") for name in ("message", "rest_api", "ingest")
    }
    assert graphed("Ingested events refused") == {("IngestRejected", services["ingest"], "Sum")}
    assert graphed("Lifecycle events not put on the bus") == {
        ("LifecycleEventsFailed", services[name], "Sum") for name in APP_METRICS["LifecycleEventsFailed"]
    }
    assert {"WebSocket traffic", "REST requests", "REST latency", "DynamoDB throttling", "Alarms"} <= set(widgets)
    assert {"Dead-letter queues"} <= set(widgets)


def test_alarm_emails_go_through_an_encrypted_topic(default: Synthesized, custom: Synthesized) -> None:
    default.template.resource_count_is("AWS::SNS::Topic", 0)
    custom.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )
    custom.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    topic_id = next(iter(custom.resources("AWS::SNS::Topic")))
    for alarm in custom.resources("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]


# -- outputs ----------------------------------------------------------------------------------


_MESSAGING_OUTPUTS = {
    "FanoutQueueUrl",
    "FanoutDeadLetterQueueUrl",
    "IngestDeadLetterQueueUrl",
    "EventBusName",
    "EventBusArn",
}


def test_outputs(default: Synthesized, custom: Synthesized) -> None:
    assert set(default.json["Outputs"]) == {
        "DashboardUrl",
        "WebSocketUrl",
        "RestApiUrl",
        "IamRestApiUrl",
        "PublisherPolicyArn",
        "CallbackUrl",
        "TableName",
        "UserPoolId",
        "UserPoolClientId",
        *_MESSAGING_OUTPUTS,
    }
    assert set(custom.json["Outputs"]) == {
        "DashboardUrl",
        "WebSocketUrl",
        "RestApiUrl",
        "IamRestApiUrl",
        "PublisherPolicyArn",
        "CallbackUrl",
        "TableName",
        *_MESSAGING_OUTPUTS,
    }
    for stack in (default, custom):
        outputs = stack.json["Outputs"]
        queues = _queue_ids(stack)
        assert outputs["FanoutQueueUrl"]["Value"] == {"Ref": queues["fanout"]}
        assert outputs["FanoutDeadLetterQueueUrl"]["Value"] == {"Ref": queues["fanout-dlq"]}
        assert outputs["IngestDeadLetterQueueUrl"]["Value"] == {"Ref": queues["ingest-dlq"]}
        assert outputs["EventBusArn"]["Value"] == _bus_arn(stack)
    assert custom.json["Outputs"]["EventBusName"]["Value"] == "platform-events"
    websocket_url = custom.json["Outputs"]["WebSocketUrl"]["Value"]["Fn::Join"][1]
    assert websocket_url[0] == "wss://"
    assert websocket_url[-1] == "/live"
    assert custom.json["Outputs"]["RestApiUrl"]["Value"]["Fn::Join"][1][-1] == "/api/admin/realtime"


def test_api_gateways_own_answers_use_the_api_error_shape(stack: Synthesized) -> None:
    from realtime.entrypoints.rest import GATEWAY_RESPONSES, gateway_response_template

    responses = {
        props["Properties"]["ResponseType"]: props["Properties"]
        for props in stack.resources("AWS::ApiGateway::GatewayResponse").values()
    }
    assert set(responses) == set(GATEWAY_RESPONSES)
    for response_type, (status, code) in GATEWAY_RESPONSES.items():
        assert responses[response_type]["ResponseTemplates"] == {"application/json": gateway_response_template(code)}
        assert responses[response_type].get("StatusCode") == (str(status) if status is not None else None)


def test_api_gateways_own_answers_are_readable_by_the_dashboard(custom: Synthesized) -> None:
    for response in custom.resources("AWS::ApiGateway::GatewayResponse").values():
        headers = response["Properties"]["ResponseParameters"]
        assert headers == {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}
