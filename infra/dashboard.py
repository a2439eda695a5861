"""The dashboard, deployed: the built app (clients/dashboard/dist) in a private S3 bucket
behind a CloudFront distribution, with a config.json made from the stack's own endpoints.

- The bucket blocks every public access, encrypts at rest (SSE-S3) and refuses requests
  without TLS 1.2+; only the distribution reads it, through origin access control (a bucket
  policy for cloudfront.amazonaws.com, conditioned on this distribution's ARN).
- The distribution answers HTTPS only (no redirect from HTTP), GET/HEAD only, and adds the
  security headers to every answer: a Content-Security-Policy whose connect-src is exactly
  the page itself, the stack's WebSocket and REST origins and the sign-in's token endpoint
  (`frame-ancestors 'none'`), HSTS, X-Content-Type-Options, X-Frame-Options, Referrer-Policy.
- Caching follows each object's Cache-Control (the cache policy's minimum TTL is 0): Vite's
  content-hashed files under assets/ are immutable for a year; index.html, config.json and
  every other file are `no-store`, so a deployment shows at the next page load, with no
  invalidation.
- config.json is written by the deployment from the stack's resources (`config_document`):
  the contract with clients/dashboard, {"wsUrl", "restUrl", "auth": {"mode": "oidc", ...}}.

The construct is created first (its URL is the sign-in's callback URL, and the REST API's
CORS origin) and served last (`serve`): the CSP and config.json name the APIs and the
sign-in, which are built after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Duration, IStableStringProducer, Lazy, RemovalPolicy, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.config import StackConfig
from infra.identity import SignIn
from infra.log_groups import log_group
from infra.nag import acknowledge
from infra.paths import REPO_ROOT

DEFAULT_DIST = REPO_ROOT / "clients" / "dashboard" / "dist"
INDEX = "index.html"
CONFIG_OBJECT = "config.json"
# Vite writes every bundled file, named by its content hash, here.
HASHED_DIR = "assets"
IMMUTABLE = "public, max-age=31536000, immutable"
NOT_CACHED = "no-store"
HSTS_MAX_AGE = Duration.days(730)
# Vite inlines small images and fonts as data: URLs.
_CSP_FIXED = {
    "default-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
# The CDK's custom-resource function that runs every BucketDeployment of the stack.
DEPLOYMENT_FUNCTION_PREFIX = "Custom::CDKBucketDeployment"


class DashboardNotBuilt(Exception):
    """The dashboard's build is missing: the message says how to get one."""


def dashboard_dist(config: StackConfig) -> Path:
    """The built dashboard to deploy (with its index.html), or DashboardNotBuilt."""
    if config.dashboard_dist is None:
        path = DEFAULT_DIST
        if not (path / INDEX).is_file():
            raise DashboardNotBuilt(
                f"the dashboard is not built: {path.relative_to(REPO_ROOT)}/{INDEX} is missing.\n"
                "  `make synth` (and diff/deploy) build it first: `make dashboard`, which runs "
                "`npm run build -w @realtime-hub/dashboard`;\n"
                "  or pass a built dashboard with -c dashboardDist=<directory>, or deploy without it with "
                "-c dashboard=false."
            )
        return path
    path = Path(config.dashboard_dist)
    path = path if path.is_absolute() else REPO_ROOT / path
    if not (path / INDEX).is_file():
        raise DashboardNotBuilt(
            f"dashboardDist: {path}/{INDEX} is missing: point it at a built dashboard "
            "(`npm run build -w @realtime-hub/dashboard` writes clients/dashboard/dist)."
        )
    return path


@dataclass(frozen=True)
class Endpoints:
    """What the page talks to: the APIs (URLs for config.json, origins for the CSP) and the sign-in."""

    websocket_url: str  # wss://{api}.execute-api.{region}.amazonaws.com/{stage}
    rest_url: str  # https://{api}.execute-api.{region}.amazonaws.com/{stage}/api/admin/realtime
    websocket_origin: str
    rest_origin: str
    sign_in: SignIn


def content_security_policy(connect_origins: Sequence[str]) -> str:
    """The page, its own files and, to connect to, exactly these origins (besides itself)."""
    directives = {**_CSP_FIXED, "connect-src": ["'self'", *connect_origins]}
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def config_document(endpoints: Endpoints, redirect_uri: str) -> dict[str, Any]:
    """config.json: the contract with the app (clients/dashboard reads exactly these keys)."""
    sign_in = endpoints.sign_in
    return {
        "wsUrl": endpoints.websocket_url,
        "restUrl": endpoints.rest_url,
        "auth": {
            "mode": "oidc",
            "authorizeUrl": sign_in.authorize_url,
            "tokenUrl": sign_in.token_url,
            "logoutUrl": sign_in.logout_url,
            "clientId": sign_in.client_id,
            "scopes": list(sign_in.scopes),
            "redirectUri": redirect_uri,
        },
    }


@jsii.implements(IStableStringProducer)
class _Producer:
    def __init__(self, produce: Any) -> None:
        self._produce = produce

    def produce(self) -> str | None:
        result: str = self._produce()
        return result


class Dashboard(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig, dist: Path) -> None:
        super().__init__(scope, construct_id)
        self._config = config
        self._dist = dist
        self._endpoints: Endpoints | None = None
        self.bucket = self._bucket(config)
        self.headers = self._headers_policy()
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"{Stack.of(self).stack_name} dashboard",
            default_root_object=INDEX,
            default_behavior=cloudfront.BehaviorOptions(
                origin=origins.S3BucketOrigin.with_origin_access_control(self.bucket),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
                cache_policy=self._cache_policy(),
                response_headers_policy=self.headers,
                compress=True,
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            web_acl_id=config.dashboard_web_acl_arn,
        )
        self._acknowledge(config)

    @property
    def domain_name(self) -> str:
        return self.distribution.distribution_domain_name

    @property
    def url(self) -> str:
        """https://{distribution}.cloudfront.net/: the sign-in's callback and sign-out URL."""
        return f"https://{self.domain_name}/"

    @property
    def origin(self) -> str:
        """https://{distribution}.cloudfront.net: the REST API's CORS origin."""
        return f"https://{self.domain_name}"

    def serve(self, endpoints: Endpoints) -> None:
        """Name what the page connects to (the CSP) and deploy the app with its config.json."""
        assert self._endpoints is None, "served once"
        self._endpoints = endpoints
        role = iam.Role(
            self,
            "DeployRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Copies the built dashboard and its config.json into the dashboard bucket",
        )
        logs = log_group(self, "DeployLogs", config=self._config)
        # Instead of AWSLambdaBasicExecutionRole (any log group): its own log group only.
        logs.grant_write(role)
        # config.json comes from the stack, never from the build (a development copy stays out).
        build = s3deploy.Source.asset(str(self._dist), exclude=[CONFIG_OBJECT])
        # Hashed files first, never pruned: a page loaded before a deployment still finds its
        # own bundle afterwards (each build adds a few hundred KB).
        hashed = s3deploy.BucketDeployment(
            self,
            "DeployAssets",
            sources=[build],
            destination_bucket=self.bucket,
            exclude=["*"],
            include=[f"{HASHED_DIR}/*"],
            prune=False,
            cache_control=[s3deploy.CacheControl.from_string(IMMUTABLE)],
            role=role,
            log_group=logs,
        )
        # Then the entry points, which name the new bundle: uncached, and pruned (outside assets/).
        site = s3deploy.BucketDeployment(
            self,
            "DeploySite",
            sources=[build, s3deploy.Source.json_data(CONFIG_OBJECT, config_document(endpoints, self.url))],
            destination_bucket=self.bucket,
            exclude=[f"{HASHED_DIR}/*"],
            prune=True,
            cache_control=[s3deploy.CacheControl.from_string(NOT_CACHED)],
            role=role,
            log_group=logs,
        )
        site.node.add_dependency(hashed)
        self._acknowledge_deployment(role)

    def _content_security_policy(self) -> str:
        endpoints = self._endpoints
        if endpoints is None:
            raise RuntimeError("Dashboard.serve() was never called: the CSP has no APIs to connect to")
        return content_security_policy(
            [endpoints.websocket_origin, endpoints.rest_origin, endpoints.sign_in.token_origin]
        )

    def _bucket(self, config: StackConfig) -> s3.Bucket:
        return s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            # The files are a build of the repository. A retained stack keeps them like its
            # data; a dev stack deletes them with the bucket (a CDK custom resource empties it).
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
            auto_delete_objects=not config.retain_data,
        )

    def _headers_policy(self) -> cloudfront.ResponseHeadersPolicy:
        return cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Dashboard: CSP (the stack's APIs only), HSTS, no framing, no sniffing, no referrer",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=Lazy.string(_Producer(self._content_security_policy)),
                    override=True,
                ),
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=HSTS_MAX_AGE, include_subdomains=True, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                # The sign-in returns to the page with ?code=…: never send it anywhere.
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.NO_REFERRER, override=True
                ),
            ),
            custom_headers_behavior=cloudfront.ResponseCustomHeadersBehavior(
                custom_headers=[
                    cloudfront.ResponseCustomHeader(
                        header="Permissions-Policy", value=PERMISSIONS_POLICY, override=True
                    ),
                    cloudfront.ResponseCustomHeader(
                        header="Cross-Origin-Opener-Policy", value="same-origin", override=True
                    ),
                ]
            ),
        )

    def _cache_policy(self) -> cloudfront.CachePolicy:
        return cloudfront.CachePolicy(
            self,
            "CachePolicy",
            comment="Dashboard: each object's own Cache-Control (no-store entry points, immutable assets)",
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=Duration.days(365),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            query_string_behavior=cloudfront.CacheQueryStringBehavior.none(),
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
        )

    def _acknowledge(self, config: StackConfig) -> None:
        acknowledge(
            self.bucket,
            "AwsSolutions-S1",
            "Only the distribution (origin access control) reads the bucket and only the stack's deployment "
            "writes it; its objects are a public build of the repository. CloudTrail records who changes "
            "the bucket; server access logs would repeat CloudFront's reads.",
        )
        distribution = self.distribution
        acknowledge(
            distribution,
            "AwsSolutions-CFR1",
            "Operators sign in from wherever they are on call; the page holds no data (every call to the "
            "APIs needs a signed-in user's token), so a geographic restriction would only lock them out.",
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR3",
            "Static files only: every data access goes through the APIs, whose access logs record it. The "
            "sign-in returns to the page with its authorization code in the query string, which CloudFront "
            "access logs would store; the code is single-use and bound to PKCE, but better never kept.",
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR4",
            "The default *.cloudfront.net certificate cannot set a minimum TLS version (only a custom domain "
            "with an ACM certificate can); browsers negotiate TLS 1.2/1.3 with CloudFront and HSTS keeps them "
            "on HTTPS. The distribution answers HTTPS only.",
        )
        if config.dashboard_web_acl_arn is None:
            acknowledge(
                distribution,
                "AwsSolutions-CFR2",
                "No WAF by default (a web ACL costs $5/month + $1/rule): the distribution serves static files, "
                "GET/HEAD only, from CloudFront's cache. Set context dashboardWebAclArn to associate one.",
            )

    def _acknowledge_deployment(self, role: iam.Role) -> None:
        """The CDK's BucketDeployment function (one per stack, shared by both deployments)."""
        for finding in (
            "Action::s3:Abort*",
            "Action::s3:DeleteObject*",
            "Action::s3:GetBucket*",
            "Action::s3:GetObject*",
            "Action::s3:List*",
            f"Resource::<{Stack.of(self).get_logical_id(self._cfn_bucket())}.Arn>/*",
        ):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[{finding}]",
                "BucketDeployment's own grant (read/write) on the dashboard bucket and its objects only: "
                "`aws s3 sync` lists, reads, writes and prunes objects whose keys come from the build.",
            )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-"
            "<AWS::Region>/*]",
            "BucketDeployment reads the build's zip from the CDK bootstrap's asset bucket, under a key "
            "(its content hash) known only when the assets are published.",
        )
        function = deployment_function(self)
        pinned = (
            "The CDK's BucketDeployment handler: the CDK sets its runtime (python3.13, which Lambda supports) "
            "together with the AWS CLI layer it runs; a newer CDK moves both."
        )
        acknowledge(function, "AwsSolutions-L1", pinned)
        acknowledge(function, "Serverless-LambdaLatestVersion", pinned)
        acknowledge(
            function,
            "Serverless-LambdaDLQ",
            "CloudFormation invokes it during a deployment and waits for its answer: a failure fails and rolls "
            "back the deployment, visible in the stack's events and the function's log group. A dead-letter "
            "queue would hold a request nobody can replay (its presigned response URL expires).",
        )
        acknowledge(
            function,
            "Serverless-LambdaTracing",
            "Runs only during deployments, one S3 sync each; CloudFormation's events and its log group say "
            "what it did. Traces would add X-Ray permissions for nothing to look at.",
        )

    def _cfn_bucket(self) -> s3.CfnBucket:
        bucket = self.bucket.node.default_child
        assert isinstance(bucket, s3.CfnBucket)
        return bucket


def deployment_function(scope: Construct) -> lambda_.Function:
    """The stack's one BucketDeployment function (a singleton the CDK adds at the stack's root)."""
    (function,) = [
        child
        for child in Stack.of(scope).node.children
        if child.node.id.startswith(DEPLOYMENT_FUNCTION_PREFIX) and isinstance(child, lambda_.Function)
    ]
    return function
