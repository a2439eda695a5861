"""The REST API's Lambda TOKEN authorizer, applied the way API Gateway applies it: the
identity source must be present and match the validation regex (else 401 without an
invocation), answers are cached per token, and the policy is evaluated per request."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from local.emulated.authorizer_policy import InvalidAuthorizerResponse, evaluate
from local.emulated.gateway_requests import Gateway
from local.emulated.lambdas import LambdaRuntime
from local.runner.settings import (
    REST_AUTHORIZER_CACHE_SECONDS,
    REST_AUTHORIZER_IDENTITY_SOURCE,
    REST_AUTHORIZER_VALIDATION_REGEX,
)

logger = logging.getLogger("local.rest")

# API Gateway's answers when a TOKEN authorizer refuses (message None means `null`).
UNAUTHORIZED = (401, "Unauthorized")
DENIED = (403, "User is not authorized to access this resource with an explicit deny")
NOT_ALLOWED = (403, "User is not authorized to access this resource")
AUTHORIZER_FAILED = (500, None)
_CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class Verdict:
    status: int
    message: str | None = None
    # requestContext.authorizer for the integration, when allowed.
    authorizer: dict[str, Any] | None = None

    @property
    def allowed(self) -> bool:
        return self.status == 200


class TokenAuthorizer:
    def __init__(self, gateway: Gateway, runtime: LambdaRuntime, function: str = "rest_authorizer") -> None:
        self._gateway = gateway
        self._runtime = runtime
        self._function = function
        self._pattern = re.compile(REST_AUTHORIZER_VALIDATION_REGEX)
        # token -> (expiry on the monotonic clock, the authorizer's response)
        self._cache: dict[str, tuple[float, Any]] = {}

    async def check(self, method: str, path: str, headers: list[tuple[str, str]]) -> Verdict:
        source = REST_AUTHORIZER_IDENTITY_SOURCE.lower()
        token = next((value for name, value in reversed(headers) if name.lower() == source), "")
        if not token or not self._pattern.match(token):
            return Verdict(*UNAUTHORIZED)
        method_arn = self._gateway.method_arn(method, path)
        started = time.perf_counter()
        response = self._cached(token)
        if response is None:
            event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
            try:
                response = await self._runtime.invoke(self._function, event)
            except Exception as exc:
                if str(exc) == "Unauthorized":
                    return Verdict(*UNAUTHORIZED)
                logger.exception("the REST authorizer failed")
                return Verdict(*AUTHORIZER_FAILED)
            self._remember(token, response)
        try:
            decision = evaluate(response, method_arn)
        except InvalidAuthorizerResponse:
            logger.exception("the REST authorizer's response is invalid")
            return Verdict(*AUTHORIZER_FAILED)
        if not decision.allowed:
            return Verdict(*(DENIED if decision.denied_explicitly else NOT_ALLOWED))
        latency_ms = int((time.perf_counter() - started) * 1000)
        context = {**decision.context, "principalId": decision.principal_id, "integrationLatency": latency_ms}
        return Verdict(200, authorizer=context)

    def _cached(self, token: str) -> Any:
        expiry, response = self._cache.get(token, (0.0, None))
        return response if expiry > time.monotonic() else None

    def _remember(self, token: str, response: Any) -> None:
        now = time.monotonic()
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache = {key: entry for key, entry in self._cache.items() if entry[0] > now}
        if len(self._cache) < _CACHE_LIMIT:
            self._cache[token] = (now + REST_AUTHORIZER_CACHE_SECONDS, response)
