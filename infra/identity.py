"""Who can connect and publish: a new Cognito user pool, or an existing OIDC issuer.

Either way the functions receive the same three facts about tokens (issuer, audience and
where the signing keys are) and verify RS256/ES256 signatures against that JWKS.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from infra.config import StackConfig
from infra.nag import acknowledge


@dataclass(frozen=True)
class JwtSettings:
    issuer: str
    audience: str
    jwks_url: str
    roles_claim: str


class Identity(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StackConfig) -> None:
        super().__init__(scope, construct_id)
        self.user_pool: cognito.UserPool | None = None
        self.client: cognito.UserPoolClient | None = None
        if config.uses_cognito:
            self.jwt = self._create_user_pool(config)
        else:
            assert config.issuer and config.audience and config.jwks_url  # checked by StackConfig
            self.jwt = JwtSettings(
                issuer=config.issuer,
                audience=config.audience,
                jwks_url=str(config.jwks_url),
                roles_claim=config.effective_roles_claim,
            )

    def _create_user_pool(self, config: StackConfig) -> JwtSettings:
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
            disable_o_auth=True,  # no hosted UI or redirect URLs to secure
            prevent_user_existence_errors=True,
            id_token_validity=Duration.hours(1),
            access_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.days(30),
            enable_token_revocation=True,
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
        return JwtSettings(
            issuer=issuer,
            audience=self.client.user_pool_client_id,
            jwks_url=f"{issuer}/.well-known/jwks.json",
            roles_claim=config.effective_roles_claim,
        )
