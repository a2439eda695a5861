"""Machine-to-machine access in the templates: the services' Cognito app clients (client
credentials, their scopes only), the IAM routes and the publisher policy to attach to a
service's role (publish and follow a message, nothing else)."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.support import SERVICES, Synthesized, environment, functions_by_name

IAM_BASE = "iam/api/admin/realtime"


def resource_paths(synth: Synthesized) -> dict[str, str]:
    """Logical id of each API Gateway resource (and of each REST API: its root) → its path."""
    resources = synth.resources("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in resources:
            return ""  # the API's root
        if logical_id not in paths:
            props = resources[logical_id]["Properties"]
            parent = props["ParentId"]
            parent_id = parent["Ref"] if "Ref" in parent else parent["Fn::GetAtt"][0]
            paths[logical_id] = f"{path_of(parent_id)}/{props['PathPart']}"
        return paths[logical_id]

    return {logical_id: path_of(logical_id) for logical_id in resources}


def methods(synth: Synthesized) -> list[tuple[str, str, str]]:
    """(path, HTTP method, authorization type) of every method of the REST API."""
    paths = resource_paths(synth)
    found = []
    for method in synth.resources("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource = props["ResourceId"]
        path = paths.get(resource["Ref"], "") if "Ref" in resource else ""
        found.append((path, props["HttpMethod"], props.get("AuthorizationType", "NONE")))
    return found


def test_the_iam_routes_take_signed_requests_only(stack: Synthesized) -> None:
    iam_methods = [(path, verb, auth) for path, verb, auth in methods(stack) if path.startswith(f"/{IAM_BASE}")]
    assert (f"/{IAM_BASE}/{{proxy+}}", "ANY", "AWS_IAM") in iam_methods
    assert {auth for _, verb, auth in iam_methods if verb != "OPTIONS"} == {"AWS_IAM"}
    outside = {auth for path, _, auth in methods(stack) if not path.startswith("/iam")}
    assert "AWS_IAM" not in outside  # the token routes stay behind the authorizer


def test_the_publisher_policy_grants_publishing_and_nothing_else(stack: Synthesized) -> None:
    (policy,) = stack.resources("AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "execute-api:Invoke")
    stage = stack.config.stage_name
    tails = sorted(resource["Fn::Join"][1][-1] for resource in statement["Resource"])  # after the API's id
    assert tails == [
        f"/{stage}/GET/{IAM_BASE}/me",
        f"/{stage}/GET/{IAM_BASE}/messages/*",
        f"/{stage}/POST/{IAM_BASE}/*",
    ]
    assert policy["Properties"].get("Roles") is None and policy["Properties"].get("Users") is None  # attach it yourself
    outputs = stack.json["Outputs"]
    assert outputs["PublisherPolicyArn"]["Value"] == {"Ref": next(iter(stack.resources("AWS::IAM::ManagedPolicy")))}
    assert IAM_BASE in json.dumps(outputs["IamRestApiUrl"]["Value"])


def test_each_service_gets_a_confidential_client_for_its_scopes_only(services: Synthesized) -> None:
    (server_id, server) = next(iter(services.resources("AWS::Cognito::UserPoolResourceServer").items()))
    assert server["Properties"]["Identifier"] == "realtime"
    assert {scope["ScopeName"] for scope in server["Properties"]["Scopes"]} == {"publish", "read"}

    clients = {
        props["ClientName"].removeprefix("service-"): props
        for props in (c["Properties"] for c in services.resources("AWS::Cognito::UserPoolClient").values())
        if props.get("ClientName", "").startswith("service-")
    }
    assert set(clients) == set(SERVICES)
    for name, props in clients.items():
        assert props["GenerateSecret"] is True
        assert props["AllowedOAuthFlows"] == ["client_credentials"]
        scopes = [part["Fn::Join"][1][1] for part in props["AllowedOAuthScopes"]]
        assert scopes == [f"/{scope}" for scope in sorted(SERVICES[name])], name
        assert all(part["Fn::Join"][1][0] == {"Ref": server_id} for part in props["AllowedOAuthScopes"])
        assert not any(flow.startswith("ALLOW_USER") for flow in props.get("ExplicitAuthFlows", []))
        assert props["AccessTokenValidity"] == 60 and props["TokenValidityUnits"] == {"AccessToken": "minutes"}


def test_the_functions_accept_the_services_tokens(services: Synthesized) -> None:
    client_ids = {
        logical_id
        for logical_id, client in services.resources("AWS::Cognito::UserPoolClient").items()
        if client["Properties"].get("ClientName", "").startswith("service-")
    }
    for name in ("authorizer", "rest_authorizer", "rest_api", "message"):
        env = environment(services, name)
        audience = env["JWT_AUDIENCE"]["Fn::Join"]
        assert audience[0] == " "
        assert client_ids <= {part["Ref"] for part in audience[1]}, name
        assert json.loads(env["JWT_SCOPE_ROLES"]) == {"realtime/publish": ["publisher"], "realtime/read": ["reader"]}
        assert env["JWT_SCOPES_CLAIM"] == "scope"


def test_the_token_endpoint_exists_without_a_dashboard(services: Synthesized) -> None:
    assert services.resources("AWS::Cognito::UserPoolDomain")
    assert not services.resources("AWS::Cognito::ManagedLoginBranding")  # no sign-in pages to style
    outputs = services.json["Outputs"]
    assert "/oauth2/token" in json.dumps(outputs["ServiceTokenUrl"]["Value"])
    assert {"ServiceClientIdbilling", "ServiceClientIdopsbot"} <= set(outputs)


def test_without_services_there_are_no_service_clients(default: Synthesized, custom: Synthesized) -> None:
    assert not default.resources("AWS::Cognito::UserPoolResourceServer")
    names = [c["Properties"].get("ClientName", "") for c in default.resources("AWS::Cognito::UserPoolClient").values()]
    assert not any(name.startswith("service-") for name in names)
    assert "ServiceTokenUrl" not in default.json["Outputs"]
    env: dict[str, Any] = environment(custom, "rest_api")  # an external issuer's scopes, as configured
    assert env["JWT_SCOPES_CLAIM"] == "scp"
    assert json.loads(env["JWT_SCOPE_ROLES"]) == {
        "https://api.example.com/realtime.publish": ["publisher"],
        "realtime.read": ["reader"],
    }
    assert "rest_api" in functions_by_name(custom)
