"""Cognito's OAuth2 token endpoint (`POST /oauth2/token`), for the client-credentials
grant only: what a service calls to get an access token. The local stack has one app client
(local/runner/settings.py: LOCAL_SERVICE_CLIENT_ID, its public, local-only secret, and the
scopes it is allowed); the token is minted like `make -s token SCOPES=…`.

As Cognito answers (https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html):
the client authenticates with HTTP Basic (or `client_id`/`client_secret` form fields); the
body is form-encoded; `scope` is optional (all the client's scopes when absent); errors
are 400 `{"error": …}` (`invalid_request`, `invalid_client`, `unsupported_grant_type`,
`invalid_scope`), `invalid_client` with 401 when Basic authentication was attempted.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Sequence
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from local.tools.tokens import mint_service_token

TOKEN_LIFETIME_SECONDS = 3600
MAX_BODY_BYTES = 16 * 1024


class TokenEndpoint:
    def __init__(self, client_id: str, client_secret: str, scopes: Sequence[str]) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._scopes = tuple(scopes)

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if len(body) > MAX_BODY_BYTES or media_type != "application/x-www-form-urlencoded":
            return _error("invalid_request", "send a form (application/x-www-form-urlencoded)")
        try:
            form = {name: values[-1] for name, values in parse_qs(body.decode(), strict_parsing=False).items()}
        except UnicodeDecodeError:
            return _error("invalid_request", "the form is not UTF-8")
        basic = _basic_credentials(request.headers.get("authorization"))
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if not (hmac.compare_digest(client_id, self._client_id) and hmac.compare_digest(secret, self._client_secret)):
            return _error("invalid_client", None, status=401 if basic else 400)
        if form.get("grant_type") != "client_credentials":
            return _error("unsupported_grant_type", None)
        requested = form.get("scope", "").split() or list(self._scopes)
        if any(scope not in self._scopes for scope in requested):
            return _error("invalid_scope", None)
        token = mint_service_token(requested, client_id=client_id, ttl_seconds=TOKEN_LIFETIME_SECONDS)
        return JSONResponse(
            {"access_token": token, "expires_in": TOKEN_LIFETIME_SECONDS, "token_type": "Bearer"},
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (header or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")  # attempted and malformed: refused as a wrong secret is
    return client_id, secret


def _error(code: str, description: str | None, *, status: int = 400) -> Response:
    body = {"error": code, **({"error_description": description} if description else {})}
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
