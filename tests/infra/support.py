"""The two configurations the infra tests synthesize, and ways to find things in a template.

`default` is what a bare `cdk synth` builds (cdk.json's context only: a new Cognito user
pool, retained data, a new event bus, the dashboard signing in with the user pool) but for
the dashboard's build, a fixture (DASHBOARD_FIXTURE); `custom` sets every option the other
way (external OIDC issuer, the dashboard signing in with it, alarm e-mails, destroy, CORS,
WAF on both the REST API and the dashboard, reserved concurrency, another stage and groups,
shorter history and replays, a faster sweep, an existing event bus with an archive, other
fan-out thresholds, shard size, lifecycle source and worker concurrency); `services` is
`default` with two services' app clients (client credentials) and no dashboard, so the user
pool's domain exists for the token endpoint alone.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from unittest import mock

from aws_cdk.assertions import Template

from infra.config import StackConfig
from infra.paths import CDK_JSON, REPO_ROOT

# A stand-in for clients/dashboard/dist (index.html and one hashed asset, as Vite writes
# them): the infra tests never depend on the app's own build.
DASHBOARD_FIXTURE = REPO_ROOT / "tests" / "infra" / "fixtures" / "dashboard-dist"

CUSTOM_CONTEXT: dict[str, Any] = {
    "stackName": "RealtimeCustom",
    "stageName": "live",
    "jwksUrl": "https://login.example.com/.well-known/jwks.json",
    "issuer": "https://login.example.com/",
    "audience": "realtime-api",
    "rolesClaim": "https://example.com/roles",
    "connectRole": "operator",
    "publishRole": "publisher",
    "groups": '{"admins": "operator", "alerts": "operator", "billing": "finance"}',
    "autoJoinGroup": "admins",
    "corsOrigins": "https://admin.example.com, http://localhost:5173",
    "websocketThrottleRate": "50",
    "websocketThrottleBurst": "80",
    "restThrottleRate": "20",
    "restThrottleBurst": "40",
    "webAclArn": "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/realtime/0f1e2d3c",
    "apiGatewayCloudWatchRole": "false",
    "logLevel": "DEBUG",
    "metricsNamespace": "Custom/Realtime",
    "reservedConcurrency": '{"message": 50, "rest_api": 20, "sweeper": 1}',
    "snapStart": "all",
    "historyTtlSeconds": "900",
    "historyMaxMessages": "250",
    "replayMaxMessages": "100",
    "sweepMinutes": "1",
    "logRetentionDays": "7",
    "removalPolicy": "destroy",
    "alarmEmail": "oncall@example.com",
    "fanoutQueueThreshold": "200",
    "memberShardSize": "250",
    "fanoutWorkerConcurrency": "32",
    "fanoutWorkerMaxConcurrency": "10",
    "fanoutQueueAgeAlarmSeconds": "30",
    "eventBusName": "platform-events",
    "lifecycleSource": "com.example.realtime",
    "eventArchiveDays": "7",
    "dashboardDist": str(DASHBOARD_FIXTURE.relative_to(REPO_ROOT)),
    "dashboardWebAclArn": "arn:aws:wafv2:us-east-1:123456789012:global/webacl/dashboard/4b5a6978",
    "oidcClientId": "realtime-dashboard",
    "oidcAuthorizeUrl": "https://login.example.com/authorize",
    "oidcTokenUrl": "https://tokens.example.com:8443/oauth/token",
    "oidcLogoutUrl": "https://login.example.com/oidc/logout",
    "oidcScopes": "openid, profile, email, offline_access",
    "scopesClaim": "scp",
    "scopeRoles": '{"https://api.example.com/realtime.publish": ["publisher"], "realtime.read": ["reader"]}',
}


SERVICES: dict[str, list[str]] = {"billing": ["publish"], "ops-bot": ["publish", "read"]}


def services_context() -> dict[str, Any]:
    return {
        **cdk_json_context(),
        "stackName": "RealtimeServices",
        "dashboard": "false",
        "services": json.dumps(SERVICES),
    }


@dataclass(frozen=True)
class Synthesized:
    config: StackConfig
    template: Template
    json: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == resource_type}


def cdk_json_context() -> dict[str, Any]:
    return dict(json.loads(CDK_JSON.read_text())["context"])


def default_context() -> dict[str, Any]:
    """cdk.json's context, and the fixture for the dashboard's build."""
    return {**cdk_json_context(), "dashboardDist": str(DASHBOARD_FIXTURE)}


def functions_by_name(synth: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
    """name → (logical id, resource) of the hub's functions, named by POWERTOOLS_SERVICE_NAME
    (realtime-<name>); the CDK's own (the dashboard's deployment) have none."""
    found = {}
    for logical_id, resource in synth.resources("AWS::Lambda::Function").items():
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        if "POWERTOOLS_SERVICE_NAME" not in variables:
            continue
        service = variables["POWERTOOLS_SERVICE_NAME"]
        found[service.removeprefix("realtime-").replace("-", "_")] = (logical_id, resource)
    return found


def function_logical_id(synth: Synthesized, name: str) -> str:
    return functions_by_name(synth)[name][0]


def environment(synth: Synthesized, name: str) -> dict[str, Any]:
    variables: dict[str, Any] = functions_by_name(synth)[name][1]["Properties"]["Environment"]["Variables"]
    return variables


def role_statements(synth: Synthesized, name: str) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the function's role."""
    role_id = functions_by_name(synth)[name][1]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in synth.resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def actions(statement: dict[str, Any]) -> list[str]:
    value = statement["Action"]
    return sorted([value] if isinstance(value, str) else value)


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(action, resource, condition) of every Allow statement, one triple per action and
    resource (JSON of the resource and condition): how CDK merges statements cannot
    change it."""
    found = set()
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        condition = json.dumps(statement.get("Condition"), sort_keys=True)
        for action in actions(statement):
            for resource in resources:
                found.add((action, json.dumps(resource, sort_keys=True), condition))
    return found


def logical_id(synth: Synthesized, resource_type: str, path_part: str) -> str:
    """The one resource of the type whose logical id contains `path_part`."""
    (found,) = [name for name in synth.resources(resource_type) if path_part in name]
    return found


def alias_ids(synth: Synthesized) -> dict[str, str]:
    """name → logical id of the alias `live` of each function with SnapStart (on its
    published version), the only ones that have an alias."""
    names = {logical_id: name for name, (logical_id, _) in functions_by_name(synth).items()}
    versions = synth.resources("AWS::Lambda::Version")
    found = {}
    for logical_id, alias in synth.resources("AWS::Lambda::Alias").items():
        properties = alias["Properties"]
        (version_id, attribute) = properties["FunctionVersion"]["Fn::GetAtt"]
        assert (
            attribute == "Version" and versions[version_id]["Properties"]["FunctionName"] == properties["FunctionName"]
        )
        assert properties["Name"] == "live"
        found[names[properties["FunctionName"]["Ref"]]] = logical_id
    return found


def invoked_arn(synth: Synthesized, name: str) -> dict[str, Any]:
    """The ARN whatever invokes function `name` must name: with SnapStart its alias's (the
    Ref of an AWS::Lambda::Alias is its ARN; $LATEST never runs from a snapshot), else the
    function's."""
    alias = alias_ids(synth).get(name)
    return {"Ref": alias} if alias else {"Fn::GetAtt": [function_logical_id(synth, name), "Arn"]}


def qualifier(synth: Synthesized, name: str) -> Any:
    """The Qualifier of function `name`'s asynchronous-invocation settings: those of the
    alias it is invoked through (with SnapStart), else of $LATEST."""
    alias = alias_ids(synth).get(name)
    return {"Fn::Select": [7, {"Fn::Split": [":", {"Ref": alias}]}]} if alias else "$LATEST"


def integration_function(synth: Synthesized, uri: Any) -> str:
    """The function an integration URI (Fn::Join around the invoked ARN) invokes; with
    SnapStart, it must invoke the alias."""
    invoked = {json.dumps(invoked_arn(synth, name)): name for name in functions_by_name(synth)}
    parts = uri["Fn::Join"][1]
    targets = [invoked[json.dumps(part)] for part in parts if isinstance(part, dict) and json.dumps(part) in invoked]
    assert len(targets) == 1, uri
    return targets[0]


def dashboard_body(synth: Synthesized) -> dict[str, Any]:
    """The dashboard's JSON, with every CloudFormation reference in it replaced by "REF"."""
    (dashboard,) = synth.resources("AWS::CloudWatch::Dashboard").values()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    body: dict[str, Any] = json.loads("".join(p if isinstance(p, str) else "REF" for p in parts))
    return body


# -- running the functions' code with a synthesized environment ------------------------------

_PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "RealtimeStack",
    "AWS::StackId": (
        "arn:aws:cloudformation:us-east-1:123456789012:stack/RealtimeStack/3f9c2a71-b0de-11ef-9c2a-0a1b2c3d4e5f"
    ),
    "AWS::URLSuffix": "amazonaws.com",
}


def _placeholder(*names: str) -> str:
    """A lower-case DNS-label-like stand-in for a resource's generated name or id."""
    return "-".join(re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") for name in names)


def resolve(value: Any, resources: dict[str, Any] | None = None) -> Any:
    """Evaluate the intrinsic functions CDK puts in environment variables, headers and the
    dashboard's config.json (`resources`: the template's, for what a Ref returns: an SQS
    queue's Ref is its URL)."""
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        return [resolve(item, resources) for item in value]
    ((function, argument),) = value.items()
    match function:
        case "Ref":
            resource = (resources or {}).get(argument, {})
            if resource.get("Type") == "AWS::SQS::Queue":
                account, region = _PSEUDO_PARAMETERS["AWS::AccountId"], _PSEUDO_PARAMETERS["AWS::Region"]
                return f"https://sqs.{region}.amazonaws.com/{account}/{_placeholder(argument)}"
            if resource.get("Type") == "AWS::Events::EventBus":  # its name
                return resolve(resource["Properties"]["Name"], resources)
            return _PSEUDO_PARAMETERS.get(argument) or _placeholder(argument)
        case "Fn::GetAtt":
            return _placeholder(*argument)
        case "Fn::Join":
            separator, parts = argument
            return separator.join(resolve(parts, resources))
        case "Fn::Select":
            index, items = argument
            return resolve(items, resources)[int(index)]
        case "Fn::Split":
            separator, text = argument
            return resolve(text, resources).split(separator)
        case "Fn::Sub":
            template, variables = (argument, {}) if isinstance(argument, str) else argument
            values = {name: resolve(item, resources) for name, item in variables.items()}
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: values.get(m.group(1)) or _PSEUDO_PARAMETERS.get(m.group(1)) or _placeholder(m.group(1)),
                template,
            )
    raise AssertionError(f"unexpected intrinsic {function} in an environment variable")


def resolved_environment(synth: Synthesized, function: str) -> dict[str, str]:
    """The function's variables as Lambda would set them, references made plausible values."""
    resources = synth.json["Resources"]
    return {name: resolve(value, resources) for name, value in environment(synth, function).items()}


@contextmanager
def lambda_sandbox(env: dict[str, str]) -> Iterator[None]:
    """Exactly `env` (plus what Lambda sets) in os.environ and a fresh copy of the `realtime`
    package, as in a new Lambda sandbox: its settings are cached per process. The copy other
    tests hold references to is put back afterwards."""

    def ours(name: str) -> bool:
        return name == "realtime" or name.startswith("realtime.")

    lambda_env = {**env, "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in saved:
        del sys.modules[name]
    try:
        with mock.patch.dict(os.environ, lambda_env, clear=True):
            yield
    finally:
        for name in [name for name in sys.modules if ours(name)]:
            del sys.modules[name]
        sys.modules.update(saved)
