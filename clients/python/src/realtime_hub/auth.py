"""Auth providers: httpx `Auth` flows, so one provider serves the sync and the asyncio
client alike.

- `StaticToken(token)`: `Authorization: Bearer <token>`.
- `ClientCredentials(token_url, client_id, client_secret, scopes)`: the OAuth2
  client-credentials grant (RFC 6749 §4.4: a form POST, the client authenticated with HTTP
  Basic); the access token is cached until `refresh_margin` seconds before its
  `expires_in`, and fetched again once if the hub answers 401.
- `SigV4(region, service="execute-api")`: signs each request with botocore's SigV4Auth,
  with the default credential chain (environment, profile, SSO, container, instance role).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterable
from typing import Any

import httpx

from realtime_hub.errors import HubError


class AuthError(HubError):
    """The credentials could not be turned into a token or a signature."""


class StaticToken(httpx.Auth):
    def __init__(self, token: str) -> None:
        self.token = token

    def bearer(self) -> str:
        """The token for places that take no header (the WebSocket's `token` query parameter)."""
        return self.token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


class ClientCredentials(httpx.Auth):
    """Access tokens from an OAuth2 token endpoint (Cognito's `/oauth2/token`, Auth0, Okta...)."""

    requires_response_body = True  # the token endpoint's answer is read inside the flow

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        scopes: Iterable[str] = (),
        *,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        http: httpx.Client | None = None,
    ) -> None:
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = tuple(scopes)
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._http = http  # only for bearer(); the auth flow sends through the API client
        self._lock = threading.Lock()
        self._token: str | None = None
        self._valid_until = 0.0

    def token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials"}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        basic = httpx.BasicAuth(self.client_id, self.client_secret)
        request = httpx.Request("POST", self.token_url, data=form, headers={"Accept": "application/json"})
        return next(basic.auth_flow(request))

    def cached(self) -> str | None:
        with self._lock:
            return self._token if self._token is not None and self._clock() < self._valid_until else None

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def accept(self, response: httpx.Response) -> str:
        """Cache the token of the token endpoint's answer (read already)."""
        if response.status_code != 200:
            raise AuthError(f"the token endpoint answered {response.status_code}: {response.text[:500]}")
        try:
            body: Any = response.json()
        except ValueError as exc:
            raise AuthError("the token endpoint's answer is not JSON") from exc
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError("the token endpoint's answer has no access_token")
        expires_in = body.get("expires_in", 3600)
        lifetime = float(expires_in) if isinstance(expires_in, int | float | str) else 3600.0
        with self._lock:
            self._token = token
            # Shortly before expiry; a token shorter-lived than twice the margin is used for half its life.
            self._valid_until = self._clock() + max(lifetime - self.refresh_margin, lifetime / 2)
        return token

    def bearer(self) -> str:
        """A valid access token, fetched with a client of its own when none is cached."""
        token = self.cached()
        if token is not None:
            return token
        http = self._http or httpx.Client(timeout=10.0)
        try:
            response = http.send(self.token_request())
        except httpx.HTTPError as exc:
            raise AuthError(f"the token endpoint could not be reached: {exc}") from exc
        finally:
            if self._http is None:
                http.close()
        return self.accept(response)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.cached()
        fresh = token is None
        if token is None:
            response = yield self.token_request()
            token = self.accept(response)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            # Revoked or expired early: one new token, one more try.
            self.invalidate()
            token_response = yield self.token_request()
            request.headers["Authorization"] = f"Bearer {self.accept(token_response)}"
            yield request


class SigV4(httpx.Auth):
    """AWS Signature Version 4 for an API whose routes use IAM authorization."""

    requires_request_body = True

    def __init__(self, region: str, service: str = "execute-api", *, credentials: Any = None) -> None:
        self.region = region
        self.service = service
        self._credentials = credentials

    def credentials(self) -> Any:
        if self._credentials is None:
            import botocore.session

            found = botocore.session.get_session().get_credentials()
            if found is None:
                raise AuthError("no AWS credentials found by the default credential chain")
            self._credentials = found
        return self._credentials

    def sign(self, request: httpx.Request) -> None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = self.credentials()
        frozen = credentials.get_frozen_credentials() if hasattr(credentials, "get_frozen_credentials") else credentials
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"connection", "authorization"}}
        aws = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
        SigV4Auth(frozen, self.service, self.region).add_auth(aws)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            value = aws.headers.get(name)
            if value is not None:
                request.headers[name] = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request
