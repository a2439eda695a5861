"""Who can connect and publish: a new Cognito user pool, or an existing OIDC issuer.

Either way the functions receive the same three facts about tokens (issuer, audience and
where the signing keys are) and verify RS256/ES256 signatures against that JWKS.

With the dashboard, its sign-in too (`SignIn`): the authorization-code flow with PKCE, from
the browser, against the user pool's managed login (a Cognito domain; the stack's one app
client, with the code flow enabled and the dashboard's URL as its only callback and sign-out
URL, so the dashboard's tokens carry the audience the functions check), or against the
external issuer's endpoints (context keys oidc*).

Services (context key `services`): a resource server `realtime` with the scopes
`realtime/publish` and `realtime/read`, and per service an app client with a secret that
may use the client-credentials grant for the scopes configured for it, on the same
domain's token endpoint. Its tokens carry its client id (in the audience the functions
accept) and its scopes, which the functions map to the publisher and reader roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.config import RESERVED_DOMAIN_WORDS, StackConfig
from infra.nag import acknowledge

# The Cognito domain's endpoints (the hosted OAuth 2.0 / OIDC endpoints of managed login).
AUTHORIZE_PATH = "/oauth2/authorize"
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a password)
LOGOUT_PATH = "/logout"
# The resource server of the services' scopes: realtime/publish, realtime/read (realtime.config.DEFAULT_SCOPE_ROLES).
RESOURCE_SERVER_ID = "realtime"
SCOPE_DESCRIPTIONS = {
    "publish": "Publish events (POST routes) and follow their progress",
    "read": "Read groups (history, presence, counts) and subscribe over the WebSocket",
}
# Access tokens of services: short-lived, fetched again by the client (clients/python).
SERVICE_TOKEN_VALIDITY = Duration.hours(1)
# A domain prefix is at most 63 characters: the stack's name (this much of it), a dash and
# its id's 36-character UUID.
_DOMAIN_NAME_PART = 26


@dataclass(frozen=True)
class JwtSettings:
    issuer: str
    audience: str
    jwks_url: str
    roles_claim: str


@dataclass(frozen=True)
class SignIn:
    """How the dashboard signs in: the authorization-code flow with PKCE (a public client)."""

    authorize_url: str
    token_url: str
    logout_url: str
    client_id: str
    scopes: tuple[str, ...]
    # The origin the page fetches tokens from (the token endpoint's): the CSP's connect-src.
    token_origin: str


def origin_of(url: str) -> str:
    """scheme://host[:port] of an absolute URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def cognito_domain_url(stack: Stack, prefix: str) -> str:
    """https://{prefix}.auth.{region}.amazoncognito.com, as UserPoolDomain.base_url() has it."""
    return f"https://{prefix}.auth.{stack.region}.amazoncognito.com"


def default_domain_prefix(stack_name: str) -> str:
    """<stack name>-<the UUID of the stack's id>: unique across AWS, as Cognito requires, and
    known only at deployment (a token). The name part drops what Cognito refuses."""
    name = re.sub(r"[^a-z0-9-]", "", stack_name.lower())
    for word in RESERVED_DOMAIN_WORDS:
        name = name.replace(word, "")
    name = re.sub(r"-+", "-", name[:_DOMAIN_NAME_PART]).strip("-") or "realtime"
    return f"{name}-{Fn.select(2, Fn.split('/', Aws.STACK_ID))}"


class Identity(Construct):
    """`dashboard_url`: the deployed dashboard (https://<distribution>/), which signs in with
    the code flow: None without a dashboard."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StackConfig, dashboard_url: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool: cognito.UserPool | None = None
        self.client: cognito.UserPoolClient | None = None
        self.domain: cognito.UserPoolDomain | None = None
        self.sign_in: SignIn | None = None
        self.service_clients: dict[str, cognito.UserPoolClient] = {}
        self.token_url: str | None = None  # the services' token endpoint
        if config.uses_cognito:
            self.jwt = self._create_user_pool(config, dashboard_url)
        else:
            assert config.issuer and config.audience and config.jwks_url  # checked by StackConfig
            self.jwt = JwtSettings(
                issuer=config.issuer,
                audience=config.audience,
                jwks_url=str(config.jwks_url),
                roles_claim=config.effective_roles_claim,
            )
            if dashboard_url is not None:
                self.sign_in = _external_sign_in(config)

    def _create_user_pool(self, config: StackConfig, dashboard_url: str | None) -> JwtSettings:
        pool = cognito.UserPool(
            self,
            "UserPool",
            # Admin dashboards: administrators create the accounts; nobody signs up.
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True)
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            # These accounts can publish to every dashboard: a password alone is not enough.
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            user_invitation=_invitation(dashboard_url) if dashboard_url is not None else None,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            deletion_protection=config.retain_data,
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        # One Cognito group per role the hub checks: membership lands in `cognito:groups`.
        for role in config.roles:
            # The id keeps the role's name, so adding a role never replaces (and empties) another group.
            pool.add_group(f"Role-{role}", group_name=role, description=f"Grants the {role!r} role")
        self.client = pool.add_client(
            "DashboardClient",
            # SRP for browsers; USER_PASSWORD_AUTH so that operators can get a token with
            # the AWS CLI (docs/deploy.md). Both still require the TOTP second factor.
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
            generate_secret=False,  # public clients (browsers, CLIs) cannot keep a secret
            # The dashboard's managed sign-in: the code flow (with PKCE, as a public client must),
            # back to the dashboard only. Without a dashboard: no hosted UI or redirect URLs at all.
            disable_o_auth=dashboard_url is None,
            o_auth=_code_flow(dashboard_url) if dashboard_url is not None else None,
            supported_identity_providers=(
                [cognito.UserPoolClientIdentityProvider.COGNITO] if dashboard_url is not None else None
            ),
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
            enable_token_revocation=True,
        )
        prefix = config.cognito_domain_prefix or default_domain_prefix(config.stack_name)
        if dashboard_url is not None or config.services:  # sign-in pages, or the token endpoint
            self.domain = pool.add_domain(
                "Domain",
                cognito_domain=cognito.CognitoDomainOptions(domain_prefix=prefix),
                managed_login_version=cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
            )
            self.token_url = f"{self.domain.base_url()}{TOKEN_PATH}"
        self.service_clients = self._service_clients(pool, config)
        if dashboard_url is not None:
            assert self.domain is not None
            # Managed login shows an app client's pages only with a style: Cognito's own.
            cognito.CfnManagedLoginBranding(
                self,
                "SignInStyle",
                user_pool_id=pool.user_pool_id,
                client_id=self.client.user_pool_client_id,
                use_cognito_provided_values=True,
            )
            # The URLs name the domain resource (config.json is written once it exists); the
            # CSP's origin, only its name: the distribution's headers cannot wait for the
            # domain, which waits for the user pool, whose invitation names the distribution.
            base = self.domain.base_url()
            self.sign_in = SignIn(
                authorize_url=f"{base}{AUTHORIZE_PATH}",
                token_url=f"{base}{TOKEN_PATH}",
                logout_url=f"{base}{LOGOUT_PATH}",
                client_id=self.client.user_pool_client_id,
                scopes=tuple(config.dashboard_scopes),
                token_origin=cognito_domain_url(Stack.of(self), prefix),
            )
        acknowledge(
            pool,
            "AwsSolutions-COG8",
            "Essentials feature plan: every account is created by an administrator (no self sign-up), "
            "needs a 12+ character complex password and a TOTP second factor; Plus-tier threat protection "
            "($0.02/MAU more) adds little for a handful of operators.",
        )
        self.user_pool = pool
        # The audience is the app client: ID tokens carry it as `aud`, access tokens as
        # `client_id` (with token_use=access); realtime.auth accepts either.
        issuer = f"https://{pool.user_pool_provider_url}"
        clients = [self.client, *self.service_clients.values()]
        return JwtSettings(
            issuer=issuer,
            # JWT_AUDIENCE: every client's id, separated by spaces.
            audience=Fn.join(" ", [client.user_pool_client_id for client in clients]),
            jwks_url=f"{issuer}/.well-known/jwks.json",
            roles_claim=config.effective_roles_claim,
        )

    def _service_clients(self, pool: cognito.UserPool, config: StackConfig) -> dict[str, cognito.UserPoolClient]:
        if not config.services:
            return {}
        scopes = {
            name: cognito.ResourceServerScope(scope_name=name, scope_description=description)
            for name, description in SCOPE_DESCRIPTIONS.items()
        }
        server = pool.add_resource_server(
            "ResourceServer",
            identifier=RESOURCE_SERVER_ID,
            user_pool_resource_server_name="Realtime hub",
            scopes=list(scopes.values()),
        )
        clients = {}
        for name, allowed in sorted(config.services.items()):
            clients[name] = pool.add_client(
                f"Service-{name}",
                user_pool_client_name=f"service-{name}",
                generate_secret=True,  # a confidential client: the secret stays with the service
                auth_flows=cognito.AuthFlow(),  # no user sign-in of any kind
                o_auth=cognito.OAuthSettings(
                    flows=cognito.OAuthFlows(client_credentials=True),
                    scopes=[cognito.OAuthScope.resource_server(server, scopes[scope]) for scope in sorted(allowed)],
                ),
                supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
                prevent_user_existence_errors=True,
                access_token_validity=SERVICE_TOKEN_VALIDITY,
                enable_token_revocation=True,
            )
        return clients


def _code_flow(dashboard_url: str) -> cognito.OAuthSettings:
    return cognito.OAuthSettings(
        flows=cognito.OAuthFlows(authorization_code_grant=True),
        scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callback_urls=[dashboard_url],
        logout_urls=[dashboard_url],
    )


def _invitation(dashboard_url: str) -> cognito.UserInvitationConfig:
    """The e-mail an administrator's admin-create-user sends: where to sign in, and how."""
    return cognito.UserInvitationConfig(
        email_subject="Your real-time dashboard account",
        email_body=(
            "Sign in to the real-time dashboard at "
            f"{dashboard_url} with the username {{username}} and the temporary password {{####}}. "
            "You will choose a new password and set up an authenticator app (TOTP) on first sign-in."
        ),
    )


def _external_sign_in(config: StackConfig) -> SignIn:
    # StackConfig requires all four with an external issuer and a dashboard.
    assert config.oidc_client_id and config.oidc_authorize_url and config.oidc_token_url and config.oidc_logout_url
    token_url = str(config.oidc_token_url)
    return SignIn(
        authorize_url=str(config.oidc_authorize_url),
        token_url=token_url,
        logout_url=str(config.oidc_logout_url),
        client_id=config.oidc_client_id,
        scopes=tuple(config.dashboard_scopes),
        token_origin=origin_of(token_url),
    )
