"""The deployed dashboard (infra/dashboard.py, the sign-in in infra/identity.py): the private
bucket, the distribution and its headers, the deployments and their config.json, the sign-in,
the template's order, and the messages when the build is missing.

CloudFormation references are rendered by support.resolve() as placeholders (a resource's
logical id, lower-cased), so what the page receives can be compared with what the other
resources name."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import jwt
import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match, Template
from cryptography.hazmat.primitives.asymmetric import rsa

from infra.config import DEFAULT_DASHBOARD_SCOPES, StackConfig
from infra.dashboard import (
    CONFIG_OBJECT,
    HASHED_DIR,
    IMMUTABLE,
    NOT_CACHED,
    PERMISSIONS_POLICY,
    Dashboard,
    DashboardNotBuilt,
    content_security_policy,
    dashboard_dist,
)
from infra.identity import default_domain_prefix
from infra.paths import REPO_ROOT
from infra.stack import RealtimeStack
from realtime.auth import TokenVerifier
from realtime.config import AuthSettings
from tests.infra.support import (
    DASHBOARD_FIXTURE,
    Synthesized,
    cdk_json_context,
    environment,
    grants,
    resolve,
    resolved_environment,
)

_REGION_SUFFIX = ".execute-api.us-east-1.amazonaws.com"


def _one(stack: Synthesized, resource_type: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = stack.resources(resource_type).items()
    return logical_id, resource


def _distribution(stack: Synthesized) -> tuple[str, dict[str, Any]]:
    logical_id, resource = _one(stack, "AWS::CloudFront::Distribution")
    return logical_id, resource["Properties"]["DistributionConfig"]


def _dashboard_url(stack: Synthesized) -> str:
    return resolve(stack.json["Outputs"]["DashboardUrl"]["Value"])


def _refs(value: Any) -> set[str]:
    """Every resource or pseudo parameter a template fragment references."""
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            if key == "Ref":
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                if not isinstance(item, str):
                    found |= _refs(item[1])
            else:
                found |= _refs(item)
        return found
    if isinstance(value, list):
        return set().union(*(_refs(item) for item in value)) if value else set()
    return set()


# -- the bucket -------------------------------------------------------------------------------


def test_bucket_is_private_encrypted_and_tls_only(stack: Synthesized) -> None:
    bucket_id, bucket = _one(stack, "AWS::S3::Bucket")
    properties = bucket["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}  # no ACLs
    assert "WebsiteConfiguration" not in properties and "VersioningConfiguration" not in properties

    _, policy = _one(stack, "AWS::S3::BucketPolicy")
    assert policy["Properties"]["Bucket"] == {"Ref": bucket_id}
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert {json.dumps(s["Condition"], sort_keys=True) for s in denies} == {
        json.dumps({"Bool": {"aws:SecureTransport": "false"}}),
        json.dumps({"NumericLessThan": {"s3:TlsVersion": 1.2}}),
    }
    for deny in denies:
        assert deny["Action"] == "s3:*" and deny["Principal"] == {"AWS": "*"}
    # The one reader: CloudFront, for this distribution only (origin access control).
    allows = [s for s in statements if s["Effect"] == "Allow"]
    if stack.config.retain_data:
        (reader,) = allows
    else:  # plus the CDK's auto-delete function, which empties a dev stack's bucket
        (reader, emptier) = sorted(allows, key=lambda s: "Service" not in s["Principal"])
        assert sorted(emptier["Action"]) == ["s3:DeleteObject*", "s3:GetBucket*", "s3:List*", "s3:PutBucketPolicy"]
    distribution_id, _ = _distribution(stack)
    assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert reader["Action"] == "s3:GetObject"
    assert resolve(reader["Resource"]) == resolve({"Fn::GetAtt": [bucket_id, "Arn"]}) + "/*"
    source = reader["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert resolve(source).endswith(f":distribution/{resolve({'Ref': distribution_id})}")


def test_bucket_follows_the_removal_policy(default: Synthesized, custom: Synthesized) -> None:
    _, bucket = _one(default, "AWS::S3::Bucket")
    assert bucket["DeletionPolicy"] == "Retain"
    default.template.resource_count_is("Custom::S3AutoDeleteObjects", 0)
    # A dev stack deletes it, emptied first by the CDK's custom resource.
    bucket_id, bucket = _one(custom, "AWS::S3::Bucket")
    assert bucket["DeletionPolicy"] == "Delete"
    _, emptier = _one(custom, "Custom::S3AutoDeleteObjects")
    assert emptier["Properties"]["BucketName"] == {"Ref": bucket_id}


# -- the distribution ------------------------------------------------------------------------


def test_distribution_reads_the_bucket_through_origin_access_control_over_https_only(stack: Synthesized) -> None:
    bucket_id, _ = _one(stack, "AWS::S3::Bucket")
    _, config = _distribution(stack)
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::GetAtt": [bucket_id, "RegionalDomainName"]}  # the REST endpoint, private
    assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    control_id, control = _one(stack, "AWS::CloudFront::OriginAccessControl")
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": [control_id, "Id"]}
    assert (
        Match.object_like(
            {"OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4"}
        )
        .test(control["Properties"]["OriginAccessControlConfig"])
        .is_success
    )

    assert config["Enabled"] is True
    assert config["DefaultRootObject"] == "index.html"
    assert config["HttpVersion"] == "http2and3"
    assert "CustomErrorResponses" not in config  # a missing file is an error, not the page
    assert "CacheBehaviors" not in config  # one behaviour for every path
    behavior = config["DefaultCacheBehavior"]
    assert behavior["ViewerProtocolPolicy"] == "https-only"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert behavior["CachedMethods"] == ["GET", "HEAD"]
    assert behavior["Compress"] is True
    assert behavior["TargetOriginId"] == origin["Id"]
    policy_id, _ = _one(stack, "AWS::CloudFront::CachePolicy")
    headers_id, _ = _one(stack, "AWS::CloudFront::ResponseHeadersPolicy")
    assert behavior["CachePolicyId"] == {"Ref": policy_id}
    assert behavior["ResponseHeadersPolicyId"] == {"Ref": headers_id}
    assert "OriginRequestPolicyId" not in behavior  # S3 gets no query string (the sign-in's ?code=)


def test_the_cache_follows_each_objects_cache_control(stack: Synthesized) -> None:
    _, policy = _one(stack, "AWS::CloudFront::CachePolicy")
    config = policy["Properties"]["CachePolicyConfig"]
    # Minimum TTL 0: a `no-store` object is never cached, not even for a second.
    assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (0, 0, 365 * 24 * 3600)
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert key["EnableAcceptEncodingGzip"] is True and key["EnableAcceptEncodingBrotli"] is True


def test_web_acl_only_when_configured(default: Synthesized, custom: Synthesized) -> None:
    assert "WebACLId" not in _distribution(default)[1]
    assert _distribution(custom)[1]["WebACLId"] == custom.config.dashboard_web_acl_arn


# -- the security headers --------------------------------------------------------------------


def _csp(stack: Synthesized) -> tuple[Any, dict[str, list[str]]]:
    _, policy = _one(stack, "AWS::CloudFront::ResponseHeadersPolicy")
    csp = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
    assert csp["Override"] is True
    text = resolve(csp["ContentSecurityPolicy"])
    directives = {}
    for directive in text.split(";"):
        name, *sources = directive.split()
        assert name not in directives, name
        directives[name] = sources
    return csp["ContentSecurityPolicy"], directives


def test_csp_connects_to_exactly_the_stacks_apis_and_the_token_endpoint(stack: Synthesized) -> None:
    _, directives = _csp(stack)
    (websocket_api,) = stack.resources("AWS::ApiGatewayV2::Api")
    (rest_api,) = stack.resources("AWS::ApiGateway::RestApi")
    if stack.config.uses_cognito:
        _, domain = _one(stack, "AWS::Cognito::UserPoolDomain")
        token_origin = f"https://{resolve(domain['Properties']['Domain'])}.auth.us-east-1.amazoncognito.com"
    else:
        token_origin = "https://tokens.example.com:8443"  # oidcTokenUrl's origin
    assert directives["connect-src"] == [
        "'self'",  # config.json
        f"wss://{resolve({'Ref': websocket_api})}{_REGION_SUFFIX}",
        f"https://{resolve({'Ref': rest_api})}{_REGION_SUFFIX}",
        token_origin,
    ]
    # Everything else: the page's own files only, nothing inline or evaluated, never framed.
    assert directives["default-src"] == ["'self'"]
    assert directives["img-src"] == directives["font-src"] == ["'self'", "data:"]  # Vite inlines small files
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert set(directives) == {"default-src", "img-src", "font-src", "object-src", "base-uri", "form-action",
                               "frame-ancestors", "connect-src"}  # fmt: skip
    sources = [source for values in directives.values() for source in values]
    assert not [s for s in sources if "unsafe" in s or "*" in s or s in ("http:", "https:", "wss:")]


def test_csp_names_the_apis_not_their_stages(stack: Synthesized) -> None:
    """The distribution waits for its headers, so these name only the two API resources and
    pseudo parameters: not the REST stage or deployment (whose CORS preflights name the
    distribution) nor the user pool domain (whose pool's invitation names it)."""
    csp, _ = _csp(stack)
    (websocket_api,) = stack.resources("AWS::ApiGatewayV2::Api")
    (rest_api,) = stack.resources("AWS::ApiGateway::RestApi")
    assert _refs(csp) - {"AWS::Region", "AWS::URLSuffix", "AWS::StackId"} == {websocket_api, rest_api}


def test_security_headers(stack: Synthesized) -> None:
    _, policy = _one(stack, "AWS::CloudFront::ResponseHeadersPolicy")
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    assert security["StrictTransportSecurity"] == {
        "AccessControlMaxAgeSec": 2 * 365 * 24 * 3600,
        "IncludeSubdomains": True,
        "Override": True,
    }
    assert security["ContentTypeOptions"] == {"Override": True}  # nosniff
    assert security["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert security["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": True}
    assert "XSSProtection" not in security  # obsolete; the CSP does its job
    assert config["CustomHeadersConfig"]["Items"] == [
        {"Header": "Permissions-Policy", "Value": PERMISSIONS_POLICY, "Override": True},
        {"Header": "Cross-Origin-Opener-Policy", "Value": "same-origin", "Override": True},
    ]


def test_content_security_policy_lists_the_origins_in_order() -> None:
    policy = content_security_policy(["wss://a.example.com", "https://b.example.com"])
    assert policy.endswith("; connect-src 'self' wss://a.example.com https://b.example.com")
    assert "frame-ancestors 'none'" in policy


# -- the deployments and config.json ---------------------------------------------------------


def _deployments(stack: Synthesized) -> dict[str, tuple[str, dict[str, Any]]]:
    """ "assets" / "site" → (logical id, resource) of the two BucketDeployments."""
    found = {}
    for logical_id, resource in stack.resources("Custom::CDKBucketDeployment").items():
        found["assets" if "DeployAssets" in logical_id else "site"] = (logical_id, resource)
    assert len(found) == 2
    return found


def test_hashed_assets_are_immutable_and_the_rest_is_never_cached(stack: Synthesized) -> None:
    bucket_id, _ = _one(stack, "AWS::S3::Bucket")
    deployments = _deployments(stack)
    assets_id, assets = deployments["assets"]
    _, site = deployments["site"]
    for _, deployment in deployments.values():
        assert deployment["Properties"]["DestinationBucketName"] == {"Ref": bucket_id}
        assert "DistributionId" not in deployment["Properties"]  # nothing is cached to invalidate
    # Vite's content-hashed files, kept across deployments: open pages still find their bundle.
    assert (
        Match.object_like(
            {
                "Exclude": ["*"],
                "Include": [f"{HASHED_DIR}/*"],
                "Prune": False,
                "SystemMetadata": {"cache-control": IMMUTABLE},
            }
        )
        .test(assets["Properties"])
        .is_success
    )
    assert IMMUTABLE == "public, max-age=31536000, immutable"
    # index.html, config.json and any other top-level file: no-store, stale ones pruned,
    # written after the bundle they name.
    assert (
        Match.object_like(
            {"Exclude": [f"{HASHED_DIR}/*"], "Prune": True, "SystemMetadata": {"cache-control": NOT_CACHED}}
        )
        .test(site["Properties"])
        .is_success
    )
    assert "Include" not in site["Properties"]
    assert NOT_CACHED == "no-store"
    assert assets_id in site["DependsOn"]
    # Both copy the same build; the site adds config.json.
    build_key = assets["Properties"]["SourceObjectKeys"][0]
    assert site["Properties"]["SourceObjectKeys"][0] == build_key
    assert len(site["Properties"]["SourceObjectKeys"]) == 2


def test_the_build_is_deployed_without_its_own_config_json(stack: Synthesized, assembly_dir: Path) -> None:
    _, assets = _deployments(stack)["assets"]
    build = assembly_dir / f"asset.{assets['Properties']['SourceObjectKeys'][0].removesuffix('.zip')}"
    files = sorted(str(path.relative_to(build)) for path in build.rglob("*") if path.is_file())
    assert files == ["assets/index-3f9c2a71.js", "index.html"]
    assert (DASHBOARD_FIXTURE / CONFIG_OBJECT).is_file()  # the fixture has a development copy


def _config_json(stack: Synthesized, assembly_dir: Path) -> dict[str, Any]:
    """config.json as the deployment writes it: its asset, each marker replaced by what the
    marker's reference resolves to."""
    _, site = _deployments(stack)["site"]
    key = site["Properties"]["SourceObjectKeys"][1].removesuffix(".zip")
    text = (assembly_dir / f"asset.{key}" / CONFIG_OBJECT).read_text()
    for marker, value in site["Properties"]["SourceMarkers"][1].items():
        text = text.replace(marker, resolve(value))
    document: dict[str, Any] = json.loads(text)
    return document


def test_config_json_gives_the_page_the_stacks_urls_and_sign_in(stack: Synthesized, assembly_dir: Path) -> None:
    document = _config_json(stack, assembly_dir)
    assert set(document) == {"wsUrl", "restUrl", "auth"}
    outputs = stack.json["Outputs"]
    assert document["wsUrl"] == resolve(outputs["WebSocketUrl"]["Value"])
    assert re.fullmatch(rf"wss://[a-z0-9-]+{re.escape(_REGION_SUFFIX)}/{stack.config.stage_name}", document["wsUrl"])
    assert document["restUrl"] == resolve(outputs["RestApiUrl"]["Value"])
    assert document["restUrl"].endswith(f"/{resolve({'Ref': _stage(stack)})}/api/admin/realtime")
    auth = document["auth"]
    assert set(auth) == {"mode", "authorizeUrl", "tokenUrl", "logoutUrl", "clientId", "scopes", "redirectUri"}
    assert auth["mode"] == "oidc"
    assert auth["redirectUri"] == _dashboard_url(stack)
    assert auth["scopes"] == stack.config.dashboard_scopes
    if stack.config.uses_cognito:
        domain_id, _ = _one(stack, "AWS::Cognito::UserPoolDomain")
        client_id, _ = _one(stack, "AWS::Cognito::UserPoolClient")
        base = f"https://{resolve({'Ref': domain_id})}.auth.us-east-1.amazoncognito.com"
        assert auth["authorizeUrl"] == f"{base}/oauth2/authorize"
        assert auth["tokenUrl"] == f"{base}/oauth2/token"
        assert auth["logoutUrl"] == f"{base}/logout"
        assert auth["clientId"] == resolve({"Ref": client_id})
        assert auth["scopes"] == ["openid", "email", "profile"]
    else:
        assert auth == {
            "mode": "oidc",
            "authorizeUrl": "https://login.example.com/authorize",
            "tokenUrl": "https://tokens.example.com:8443/oauth/token",
            "logoutUrl": "https://login.example.com/oidc/logout",
            "clientId": "realtime-dashboard",
            "scopes": ["openid", "profile", "email", "offline_access"],
            "redirectUri": _dashboard_url(stack),
        }


def _stage(stack: Synthesized) -> str:
    (stage_id,) = stack.resources("AWS::ApiGateway::Stage")
    return stage_id


def test_deployment_function_has_its_own_role_and_log_group(stack: Synthesized) -> None:
    bucket_id, _ = _one(stack, "AWS::S3::Bucket")
    functions = {k: v for k, v in stack.resources("AWS::Lambda::Function").items() if "CDKBucketDeployment" in k}
    ((function_id, function),) = functions.items()
    for _, deployment in _deployments(stack).values():
        assert deployment["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}
    properties = function["Properties"]
    assert properties["Runtime"] == "python3.13" and properties["Architectures"] == ["arm64"]
    group_id = properties["LoggingConfig"]["LogGroup"]["Ref"]
    group = stack.json["Resources"][group_id]
    (key_id,) = [k for k in stack.resources("AWS::KMS::Key") if k.startswith("LogsKey")]
    assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert group["Properties"]["RetentionInDays"] == stack.config.log_retention_days
    assert group["DeletionPolicy"] == ("Retain" if stack.config.retain_data else "Delete")

    role_id = properties["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in stack.json["Resources"][role_id]["Properties"]  # no AWSLambdaBasicExecutionRole
    statements = [
        statement
        for policy in stack.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    found = {(action, resolve(json.loads(resource))) for action, resource, _ in grants(statements)}
    bucket = resolve({"Fn::GetAtt": [bucket_id, "Arn"]})
    cdk_assets = "arn:aws:s3:::cdk-hnb659fds-assets-123456789012-us-east-1"
    read = {"s3:GetBucket*", "s3:GetObject*", "s3:List*"}
    write = {"s3:Abort*", "s3:DeleteObject*", "s3:PutObject", "s3:PutObjectLegalHold", "s3:PutObjectRetention",
             "s3:PutObjectTagging", "s3:PutObjectVersionTagging"}  # fmt: skip
    expected = {(a, r) for a in read for r in (cdk_assets, f"{cdk_assets}/*")}
    expected |= {(a, r) for a in read | write for r in (bucket, f"{bucket}/*")}
    expected |= {(a, resolve({"Fn::GetAtt": [group_id, "Arn"]})) for a in ("logs:CreateLogStream", "logs:PutLogEvents")}
    assert found == expected  # no CloudFront invalidations, no other bucket


# -- the sign-in -----------------------------------------------------------------------------


def test_cognito_signs_the_dashboard_in_with_the_code_flow(default: Synthesized) -> None:
    url = default.json["Outputs"]["DashboardUrl"]["Value"]
    client_id, client = _one(default, "AWS::Cognito::UserPoolClient")
    properties = client["Properties"]
    assert properties["AllowedOAuthFlows"] == ["code"]  # never implicit
    assert properties["AllowedOAuthFlowsUserPoolClient"] is True
    assert properties["AllowedOAuthScopes"] == list(DEFAULT_DASHBOARD_SCOPES) == default.config.dashboard_scopes
    assert properties["CallbackURLs"] == properties["LogoutURLs"] == [url]  # the distribution, nothing else
    assert properties["GenerateSecret"] is False  # a public client: PKCE
    assert properties["SupportedIdentityProviders"] == ["COGNITO"]
    assert properties["EnableTokenRevocation"] is True
    (pool_id,) = default.resources("AWS::Cognito::UserPool")

    _, domain = _one(default, "AWS::Cognito::UserPoolDomain")
    assert domain["Properties"]["UserPoolId"] == {"Ref": pool_id}
    assert domain["Properties"]["ManagedLoginVersion"] == 2  # managed login
    assert "CustomDomainConfig" not in domain["Properties"]
    # <stack name>-<the stack id's UUID>: unique across AWS.
    assert resolve(domain["Properties"]["Domain"]) == "realtimestack-3f9c2a71-b0de-11ef-9c2a-0a1b2c3d4e5f"
    _, style = _one(default, "AWS::Cognito::ManagedLoginBranding")
    assert style["Properties"] == {
        "ClientId": {"Ref": client_id},
        "UserPoolId": {"Ref": pool_id},
        "UseCognitoProvidedValues": True,
    }
    # The invitation an administrator's admin-create-user sends names the dashboard.
    invitation = default.resources("AWS::Cognito::UserPool")[pool_id]["Properties"]["AdminCreateUserConfig"]
    message = resolve(invitation["InviteMessageTemplate"]["EmailMessage"])
    assert resolve(url) in message and "{username}" in message and "{####}" in message
    assert invitation["AllowAdminCreateUserOnly"] is True


def test_an_external_issuer_signs_the_dashboard_in_and_the_stack_creates_no_cognito(custom: Synthesized) -> None:
    for resource_type in ("UserPool", "UserPoolClient", "UserPoolDomain", "ManagedLoginBranding"):
        custom.template.resource_count_is(f"AWS::Cognito::{resource_type}", 0)


def _access_token(key: rsa.RSAPrivateKey, claims: dict[str, Any]) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "alice", "iat": now, "exp": now + 3600, **claims}, key, algorithm="RS256")


class _KeySet:
    """The issuer's JWKS, as PyJWKClient gives it."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key.public_key()

    def get_signing_key_from_jwt(self, token: str) -> _KeySet:
        return self


@pytest.mark.parametrize("function", ["authorizer", "rest_authorizer", "rest_api", "message"])
def test_the_dashboards_access_token_passes_the_functions_verification(
    stack: Synthesized, assembly_dir: Path, function: str
) -> None:
    """The token the page sends (the access token of its code flow, for config.json's client)
    is what the deployed functions accept: their issuer, audience and roles claim."""
    env = resolved_environment(stack, function)
    settings = AuthSettings.from_env(env)
    verifier = TokenVerifier(settings)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    verifier.__dict__["_jwks"] = _KeySet(key)  # the cached JWKS client
    client_id = _config_json(stack, assembly_dir)["auth"]["clientId"]
    if stack.config.uses_cognito:
        # Cognito's access token: no `aud`; the app client as client_id, the groups as roles.
        assert env["JWT_AUDIENCE"] == client_id
        claims = {"iss": env["JWT_ISSUER"], "token_use": "access", "client_id": client_id,
                  "scope": "openid email profile", "cognito:groups": ["admin"]}  # fmt: skip
    else:
        # The issuer's JWT access token for the hub's API (`audience`), asked for by its client.
        claims = {"iss": stack.config.issuer, "aud": stack.config.audience, "azp": client_id,
                  stack.config.effective_roles_claim: ["operator"]}  # fmt: skip
    identity = verifier.require(_access_token(key, claims), settings.connect_role)
    assert identity.user_id == "alice"


# -- the stack around it ---------------------------------------------------------------------


def test_cloudformation_can_order_every_resource(stack: Synthesized) -> None:
    """No cycle through references or DependsOn (cfn-lint and CloudFormation check it too):
    distribution → headers → APIs; client → distribution; functions → client; preflights,
    functions' CORS → distribution; deployments → everything."""
    resources = stack.json["Resources"]
    graph = {
        logical_id: {ref for ref in _refs(resource) if ref in resources} | set(resource.get("DependsOn", []))
        for logical_id, resource in resources.items()
    }
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as cycle:  # pragma: no cover - the failure's message
        pytest.fail(f"dependency cycle: {cycle.args[1]}")
    position = {logical_id: index for index, logical_id in enumerate(order)}
    distribution_id, _ = _distribution(stack)
    site_id, _ = _deployments(stack)["site"]
    assert position[distribution_id] < position[site_id]
    (stage,) = stack.resources("AWS::ApiGateway::Stage")
    assert position[stage] < position[site_id]  # config.json names the stage


def test_a_stack_without_the_dashboard(tmp_path: Path) -> None:
    """dashboard=false: none of it, and the app client keeps OAuth off (as before the dashboard)."""
    app = App(context=cdk_json_context(), outdir=str(tmp_path))
    config = StackConfig.from_context({"dashboard": "false", "stackName": "RealtimeBare"})
    template = Template.from_stack(RealtimeStack(app, config.stack_name, config=config))
    for resource_type in ("AWS::S3::Bucket", "AWS::CloudFront::Distribution", "Custom::CDKBucketDeployment",
                          "AWS::Cognito::UserPoolDomain", "AWS::Cognito::ManagedLoginBranding"):  # fmt: skip
        template.resource_count_is(resource_type, 0)
    template.has_resource_properties(
        "AWS::Cognito::UserPoolClient", {"AllowedOAuthFlowsUserPoolClient": False, "CallbackURLs": Match.absent()}
    )
    methods = template.find_resources("AWS::ApiGateway::Method", {"Properties": {"HttpMethod": "OPTIONS"}})
    assert not methods  # no browser origin, no CORS
    functions = template.find_resources("AWS::Lambda::Function")
    assert not [f for f in functions.values() if "CORS_ALLOW_ORIGINS" in f["Properties"]["Environment"]["Variables"]]
    assert "DashboardUrl" not in template.to_json()["Outputs"]


def test_every_function_gets_the_dashboard_as_cors_origin(default: Synthesized) -> None:
    distribution_id, _ = _distribution(default)
    assert resolve(environment(default, "rest_api")["CORS_ALLOW_ORIGINS"]) == (
        "https://" + resolve({"Fn::GetAtt": [distribution_id, "DomainName"]})
    )


# -- the build ---------------------------------------------------------------------------------


def test_a_missing_build_stops_the_synth_with_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DashboardNotBuilt, match=r"dashboardDist: .*index.html is missing"):
        dashboard_dist(StackConfig.from_context({"dashboardDist": str(tmp_path)}))
    assert dashboard_dist(StackConfig.from_context({"dashboardDist": "tests/infra/fixtures/dashboard-dist"})) == (
        DASHBOARD_FIXTURE
    )
    monkeypatch.setattr("infra.dashboard.DEFAULT_DIST", REPO_ROOT / "clients" / "no-such-dashboard" / "dist")
    with pytest.raises(DashboardNotBuilt) as failure:
        dashboard_dist(StackConfig.from_context({}))
    message = str(failure.value)
    assert "clients/no-such-dashboard/dist/index.html is missing" in message
    for hint in ("make dashboard", "npm run build -w @realtime-hub/dashboard", "dashboardDist", "dashboard=false"):
        assert hint in message


def test_the_cdk_app_exits_with_the_message(tmp_path: Path) -> None:
    """app.py, as `cdk synth` runs it, given an empty dashboardDist: exit status 2, no traceback."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({"dashboardDist": str(tmp_path)}),
        "CDK_OUTDIR": str(tmp_path / "out"),
    }
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(REPO_ROOT / "app.py")], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert f"dashboardDist: {tmp_path}/index.html is missing" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize(
    ("stack_name", "name_part"),
    [
        ("RealtimeStack", "realtimestack"),
        ("AwsRealtime-Cognito", "realtime"),  # Cognito refuses these words in a prefix
        ("Amazon", "realtime"),
        ("A" * 60, "a" * 26),  # the whole prefix stays within 63 characters
    ],
)
def test_default_domain_prefix(stack_name: str, name_part: str) -> None:
    prefix = default_domain_prefix(stack_name)
    assert prefix.startswith(f"{name_part}-${{Token[")
    assert len(name_part) + 1 + 36 <= 63


def test_a_dashboard_never_served_stops_the_synth(tmp_path: Path) -> None:
    """The CSP names the APIs given to serve(): without them the synth fails, not the page."""
    stack = Stack(App(outdir=str(tmp_path)), "Canary")
    Dashboard(stack, "Dashboard", config=StackConfig.from_context({}), dist=DASHBOARD_FIXTURE)
    with pytest.raises(RuntimeError, match=r"Dashboard.serve\(\) was never called"):
        Template.from_stack(stack)
