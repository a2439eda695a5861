"""The CDK context is validated at synth with errors that name the key (no synth here)."""

from __future__ import annotations

import json
from typing import get_args

import pytest

from infra.config import FUNCTION_NAMES, HUB_CONTEXT_KEYS, ContextError, StackConfig
from infra.paths import CDK_JSON
from realtime.config import HubSettings

EXTERNAL = {"jwksUrl": "https://idp.example.com/jwks", "issuer": "https://idp.example.com/", "audience": "api"}


def test_no_context_builds_a_cognito_stack_that_keeps_its_data() -> None:
    config = StackConfig.from_context({})
    assert config.uses_cognito
    assert config.effective_roles_claim == "cognito:groups"
    assert config.retain_data
    assert config.stage_name == "prod"
    assert config.roles == ["admin", "publisher", "reader"]
    assert config.sweep_minutes == 5


def test_history_defaults_are_the_functions_own() -> None:
    config = StackConfig.from_context({})
    assert (config.history_ttl_seconds, config.history_max_messages, config.replay_max_messages) == (
        3600,
        1000,
        1000,
    )
    # With no context the functions get exactly HubSettings' defaults.
    defaults = HubSettings.model_validate({"TABLE_NAME": "table", "WEBSOCKET_CALLBACK_URL": "https://x"})
    configured = HubSettings.model_validate(
        {"TABLE_NAME": "table", "WEBSOCKET_CALLBACK_URL": "https://x", **config.hub_environment()}
    )
    assert configured == defaults


def test_every_hub_variable_the_context_sets_names_its_key() -> None:
    config = StackConfig.from_context({})
    assert set(config.hub_environment()) == set(HUB_CONTEXT_KEYS)
    keys = {field.alias for field in StackConfig.model_fields.values()}
    assert set(HUB_CONTEXT_KEYS.values()) <= keys
    assert set(HUB_CONTEXT_KEYS) <= {field.alias for field in HubSettings.model_fields.values()}


_EXTERNAL = {"jwksUrl": "https://idp.example.com/jwks", "issuer": "https://idp.example.com/", "audience": "api"}
_OIDC = {
    "oidcClientId": "dashboard",
    "oidcAuthorizeUrl": "https://idp.example.com/authorize",
    "oidcTokenUrl": "https://idp.example.com/token",
    "oidcLogoutUrl": "https://idp.example.com/logout",
}


def test_the_dashboard_is_deployed_by_default_and_signs_in_with_cognito() -> None:
    config = StackConfig.from_context({})
    assert config.dashboard is True
    assert config.dashboard_dist is None  # clients/dashboard/dist
    assert config.dashboard_scopes == ["openid", "email", "profile"]
    assert config.cognito_domain_prefix is None  # <stack name>-<stack id's UUID>
    assert StackConfig.from_context({"cognitoDomainPrefix": "ops-dashboard-1"}).cognito_domain_prefix == (
        "ops-dashboard-1"
    )


def test_an_external_issuer_signs_the_dashboard_in_with_its_own_endpoints() -> None:
    config = StackConfig.from_context({**_EXTERNAL, **_OIDC, "oidcScopes": "openid,offline_access"})
    assert config.dashboard_scopes == ["openid", "offline_access"]
    assert str(config.oidc_token_url) == "https://idp.example.com/token"
    assert StackConfig.from_context({**_EXTERNAL, **_OIDC}).dashboard_scopes == ["openid", "email", "profile"]
    assert StackConfig.from_context({**_EXTERNAL, **_OIDC, "oidcScopes": '["openid"]'}).dashboard_scopes == ["openid"]
    # Without the dashboard, an external issuer needs nothing more than before.
    assert not StackConfig.from_context({**_EXTERNAL, "dashboard": "false"}).dashboard


def test_an_external_issuer_needs_all_three_settings() -> None:
    config = StackConfig.from_context(
        {
            "jwksUrl": "https://idp.example.com/jwks",
            "issuer": "https://idp.example.com/",
            "audience": "api",
            "dashboard": "false",
        }
    )
    assert not config.uses_cognito
    assert config.effective_roles_claim == "roles"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"issuer": "https://idp.example.com/"}, "missing ['jwksUrl', 'audience']"),
        ({"createUserPool": "true", "audience": "api"}, "do not also set audience"),
        ({"createUserPool": "false"}, "an external OIDC issuer needs"),
        (
            {"jwksUrl": "http://idp.example.com/jwks", "issuer": "i", "audience": "a"},
            "jwksUrl must use https",
        ),
        ({"autoJoinGroup": "nobody"}, "AUTO_JOIN_GROUP 'nobody' is not in GROUP_ROLES"),
        ({"groups": '{"ops": "has space"}', "autoJoinGroup": "ops"}, "role 'has space'"),
        ({"stagename": "dev"}, "stagename: Extra inputs are not permitted"),
        ({"logRetentionDays": "10"}, "logRetentionDays: Value error, CloudWatch Logs supports"),
        ({"corsOrigins": "https://admin.example.com/app"}, "is not an origin"),
        ({"removalPolicy": "snapshot"}, "removalPolicy"),
        ({"reservedConcurrency": '{"message": 0}'}, "at least 1"),
        ({"reservedConcurrency": '{"nope": 5}'}, "reservedConcurrency.nope"),
        ({"alarmEmail": "not-an-address"}, "alarmEmail"),
        ({"snapStart": "connect,nope"}, "snapStart"),
        ({"snapStart": '{"connect": true}'}, "snapStart"),
        ({"services": '{"billing": ["publish"]}', **EXTERNAL}, "services are Cognito app clients"),
        ({"services": '{"billing": []}'}, "service 'billing' needs at least one scope"),
        ({"services": '{"billing": ["admin"]}'}, "services.billing.0"),
        ({"services": '{"ops-bot": ["read"], "opsbot": ["read"]}'}, "differ in more than dashes"),
        ({"services": '{"has space": ["read"]}'}, "services.has space"),
        ({"scopeRoles": '{"a scope": ["reader"]}'}, "scopeRoles"),
        ({"stageName": "has-dash"}, "stageName"),
        # HubSettings' own bounds, reported by key at synth rather than at the first invocation.
        ({"historyTtlSeconds": "30"}, "historyTtlSeconds: Input should be greater than or equal to 60"),
        ({"historyMaxMessages": "0"}, "historyMaxMessages: Input should be greater than or equal to 1"),
        ({"replayMaxMessages": "20000"}, "replayMaxMessages: Input should be less than or equal to 10000"),
        ({"historyTtlSeconds": "soon"}, "historyTtlSeconds: Input should be a valid integer"),
        ({"sweepMinutes": "0"}, "sweepMinutes"),
        ({"sweepMinutes": "1440"}, "sweepMinutes: Input should be less than or equal to 60"),
        ({"reservedConcurrency": '{"sweeper": 0}'}, "at least 1"),
        # The queued fan-out and the bus.
        ({"fanoutQueueThreshold": "0"}, "fanoutQueueThreshold: Input should be greater than or equal to 1"),
        ({"memberShardSize": "200000"}, "memberShardSize: Input should be less than or equal to 100000"),
        ({"fanoutWorkerConcurrency": "500"}, "fanoutWorkerConcurrency"),
        ({"fanoutWorkerMaxConcurrency": "1"}, "fanoutWorkerMaxConcurrency"),
        ({"fanoutQueueAgeAlarmSeconds": "0"}, "fanoutQueueAgeAlarmSeconds"),
        ({"eventBusName": "arn:aws:events:us-east-1:123456789012:event-bus/x"}, "eventBusName"),
        ({"lifecycleSource": "aws.realtime"}, "reserved for AWS services"),
        ({"lifecycleSource": ""}, "lifecycleSource"),
        ({"eventArchiveDays": "0"}, "eventArchiveDays"),
        ({"reservedConcurrency": '{"fanout_worker": 0}'}, "at least 1"),
        # The dashboard and its sign-in.
        (_EXTERNAL, "set oidcClientId, oidcAuthorizeUrl, oidcTokenUrl, oidcLogoutUrl"),
        ({**_EXTERNAL, **_OIDC, "oidcTokenUrl": "http://idp.example.com/token"}, "oidcTokenUrl must use https"),
        ({**_EXTERNAL, **_OIDC, "cognitoDomainPrefix": "realtime"}, "there is none with jwksUrl"),
        ({**_EXTERNAL, **_OIDC, "oidcScopes": "email profile"}, "the scopes must include openid"),
        ({**_EXTERNAL, **_OIDC, "oidcScopes": 'openid "quoted"'}, "is not a scope"),
        ({"oidcClientId": "dashboard"}, "oidcClientId are for an external OIDC issuer"),
        ({"dashboard": "false", "dashboardDist": "dist"}, "dashboard=false deploys no dashboard: do not also set"),
        ({"cognitoDomainPrefix": "my-aws-login"}, "Cognito refuses domain prefixes containing 'aws'"),
        ({"cognitoDomainPrefix": "Upper-Case"}, "cognitoDomainPrefix"),
        ({"cognitoDomainPrefix": "-dash"}, "cognitoDomainPrefix"),
        ({"dashboardWebAclArn": "arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/1"}, "dashboardWebAclArn"),
        ({"dashboard": "sometimes"}, "dashboard"),
    ],
)
def test_invalid_context_is_reported_by_key(context: dict[str, str], message: str) -> None:
    with pytest.raises(ContextError, match="invalid CDK context") as error:
        StackConfig.from_context(context)
    assert message in str(error.value)


def test_cli_strings_are_parsed() -> None:
    config = StackConfig.from_context(
        {
            "createUserPool": "true",
            "websocketThrottleRate": "25.5",
            "restThrottleBurst": "7",
            "groups": '{"admins": "admin", "ops": "operator"}',
            "corsOrigins": "https://a.example.com, http://localhost:3000",
            "reservedConcurrency": '{"message": 10}',
            "apiGatewayCloudWatchRole": "false",
            "historyTtlSeconds": "7200",
            "sweepMinutes": "10",
        }
    )
    assert config.history_ttl_seconds == 7200
    assert config.hub_environment()["HISTORY_TTL_SECONDS"] == "7200"
    assert config.sweep_minutes == 10
    assert config.websocket_throttle_rate == 25.5
    assert config.rest_throttle_burst == 7
    assert config.roles == ["admin", "operator", "publisher", "reader"]
    assert config.cors_allow_origins == ["https://a.example.com", "http://localhost:3000"]
    assert config.reserved_concurrency == {"message": 10}
    assert config.api_gateway_cloudwatch_role is False


@pytest.mark.parametrize(
    ("value", "functions"),
    [
        (None, set()),
        ("none", set()),
        ("all", set(FUNCTION_NAMES)),
        ("authorizer, connect", {"authorizer", "connect"}),
        ('["rest_api", "rest_authorizer"]', {"rest_api", "rest_authorizer"}),
    ],
)
def test_snap_start_names_functions(value: str | None, functions: set[str]) -> None:
    config = StackConfig.from_context({} if value is None else {"snapStart": value})
    assert config.snap_start == functions


def test_queued_fanout_and_bus_defaults_are_the_functions_own() -> None:
    config = StackConfig.from_context({})
    assert config.event_bus_name is None  # the stack creates its bus
    assert config.event_archive_days is None
    assert (config.fanout_queue_threshold, config.member_shard_size, config.lifecycle_source) == (
        500,
        1000,
        "realtime.hub",
    )
    assert (config.fanout_worker_concurrency, config.fanout_worker_max_concurrency) == (64, 50)
    config = StackConfig.from_context({"eventBusName": "default", "fanoutQueueThreshold": "50"})
    assert config.event_bus_name == "default"
    assert config.hub_environment()["FANOUT_QUEUE_THRESHOLD"] == "50"


def test_cdk_owned_context_is_ignored() -> None:
    StackConfig.from_context(
        {
            "@aws-cdk/core:checkSecretUsage": True,
            "aws:cdk:enable-path-metadata": True,
            "realtime:contextKeys": {},
        }
    )


def test_cdk_json_documents_every_key_and_sets_none_of_ours() -> None:
    context = json.loads(CDK_JSON.read_text())["context"]
    documented = set(context["realtime:contextKeys"])
    keys = {field.alias for field in StackConfig.model_fields.values()}
    assert documented == keys
    assert not keys & set(context)  # defaults live in StackConfig only


def test_the_local_stack_gives_each_function_what_cdk_gives_it_alone() -> None:
    """The emulator's per-function variables (local/runner/settings.py) are the stack's."""
    from infra.config import FunctionName
    from infra.functions import function_values
    from local.runner.settings import FUNCTION_ENVIRONMENT

    config = StackConfig.from_context({})
    deployed = {name: function_values(name, config) for name in get_args(FunctionName)}
    assert {name: values for name, values in deployed.items() if values} == FUNCTION_ENVIRONMENT
