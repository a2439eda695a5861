"""The REST API as infra/rest_api.py deploys it: the public GET routes (health, status,
openapi.json), `{proxy+}` under the base path behind the Lambda TOKEN authorizer, and
`{proxy+}` under the IAM base path behind IAM authorization: a SigV4 signature checked
against the local credentials (local/emulated/sigv4.py), so a forgotten or wrong signature
fails locally as in AWS; the signer is LOCAL_IAM_PRINCIPAL (locally no IAM policy narrows
what it may call). Each request becomes a Lambda proxy (v1) event for rest_api, and its
result the HTTP response."""

from __future__ import annotations

import base64
import binascii
import logging
from enum import Enum
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from local.emulated import access_log
from local.emulated.gateway_requests import Gateway, HttpRequest, RestResource, now_ms, rest_event
from local.emulated.ids import rest_request_id
from local.emulated.lambdas import LambdaRuntime
from local.emulated.rest_authorizer import TokenAuthorizer, Verdict
from local.emulated.sigv4 import SigV4Verifier

logger = logging.getLogger("local.rest")

# API Gateway's REST payload limit; the handler enforces its own, smaller one.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
# The response headers API Gateway computes itself.
_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection"}
# What API Gateway calls the error behind each of its own answers.
_ERROR_TYPES = {
    401: "UnauthorizedException",
    403: "AccessDeniedException",
    413: "RequestTooLargeException",
    500: "AuthorizerConfigurationException",
    502: "InternalServerErrorException",
}
_MISSING_ROUTE = (404, "Missing Authentication Token", "MissingAuthenticationTokenException")


class Authorization(Enum):
    NONE = "NONE"
    CUSTOM = "CUSTOM"  # the TOKEN authorizer
    AWS_IAM = "AWS_IAM"


class MalformedProxyResponse(Exception):
    """API Gateway answers 502 when a proxy integration returns something malformed."""


class RestGateway:
    def __init__(
        self, gateway: Gateway, runtime: LambdaRuntime, *, iam_verifier: SigV4Verifier, iam_principal: str
    ) -> None:
        # Imported here, not at the top: the layer's module-level objects (its logger) read
        # os.environ when first imported, which must happen after the stack has set it.
        from realtime.entrypoints.rest import BASE_PATH, GATEWAY_RESPONSES, IAM_BASE_PATH, PUBLIC_PATHS

        self._gateway = gateway
        self._runtime = runtime
        self._authorizer = TokenAuthorizer(gateway, runtime)
        self._iam_verifier = iam_verifier
        self._iam_principal = iam_principal
        self._public_paths = frozenset(PUBLIC_PATHS)
        _CODES.update({status: code for status, code in GATEWAY_RESPONSES.values() if status is not None})
        self._gateway_responses = GATEWAY_RESPONSES
        self._proxies = [(f"{BASE_PATH}/", Authorization.CUSTOM), (f"{IAM_BASE_PATH}/", Authorization.AWS_IAM)]

    async def handle(self, request: Request) -> Response:
        started = now_ms()
        request_id = rest_request_id()
        source_ip = request.client.host if request.client else "127.0.0.1"
        http_request = HttpRequest.from_asgi(request.headers.raw, request.query_params.multi_items(), source_ip)
        response = await self._respond(request, http_request, request_id)
        access_log.http(
            source_ip, request.method, request.url.path, response.status_code, len(response.body), request_id, started
        )
        return response

    async def _respond(self, request: Request, http_request: HttpRequest, request_id: str) -> Response:
        method, path = request.method, request.url.path
        resource, authorization = self._resource(path)
        if resource is None:
            status, message, error_type = _MISSING_ROUTE
            return _gateway_answer(status, message, request_id, error_type)
        verdict = Verdict(200)
        if authorization is Authorization.CUSTOM:
            verdict = await self._authorizer.check(method, path, http_request.headers)
        if not verdict.allowed:
            return _gateway_answer(verdict.status, verdict.message, request_id)
        body = await _read_body(request)
        if body is None:
            return _gateway_answer(413, "Request Too Long", request_id)
        caller = None
        if authorization is Authorization.AWS_IAM:
            refusal = self._iam_verifier.verify(
                method,
                request.scope["raw_path"].decode("latin-1"),  # as signed: still percent-encoded
                request.scope["query_string"].decode("latin-1"),
                http_request.headers,
                body,
            )
            if refusal is not None:
                return self._iam_refusal(refusal.error_type, refusal.message, request_id)
            caller = self._iam_principal
        event = rest_event(
            self._gateway,
            method=method,
            path=path,
            resource=resource,
            request=http_request,
            body=body,
            request_id=request_id,
            authorizer=verdict.authorizer,
            caller=caller,
        )
        try:
            return _to_response(await self._runtime.invoke("rest_api", event), request_id)
        except MalformedProxyResponse:
            logger.exception("rest_api returned a malformed proxy response")
        except Exception:
            logger.exception("rest_api failed")
        return _gateway_answer(502, "Internal server error", request_id)

    def _resource(self, path: str) -> tuple[RestResource | None, Authorization]:
        """The resource a request matches, and how it is authorized. API Gateway prefers
        the most specific resource: a public path before the base path's {proxy+}."""
        if path in self._public_paths:  # ANY: the function answers 405 to other methods
            return RestResource(path), Authorization.NONE
        for prefix, authorization in self._proxies:
            proxy = path.removeprefix(prefix)
            if path.startswith(prefix) and proxy:
                return RestResource(f"{prefix}{{proxy+}}", {"proxy": proxy}), authorization
        return None, Authorization.NONE

    def _iam_refusal(self, error_type: str, message: str, request_id: str) -> Response:
        """What API Gateway answers a refused signature, shaped by the stack's gateway
        responses: a missing one is MISSING_AUTHENTICATION_TOKEN (the same answer as an
        unknown route), a wrong one INVALID_SIGNATURE, any other DEFAULT_4XX (403)."""
        response_type = {
            "MissingAuthenticationTokenException": "MISSING_AUTHENTICATION_TOKEN",
            "InvalidSignatureException": "INVALID_SIGNATURE",
        }.get(error_type, "DEFAULT_4XX")
        status, code = self._gateway_responses[response_type]
        return _gateway_answer(status or 403, message, request_id, error_type, code=code)


async def _read_body(request: Request) -> bytes | None:
    """The request body, or None when it exceeds API Gateway's limit."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_REQUEST_BYTES:
            return None
    return bytes(body)


def _to_response(result: Any, request_id: str) -> Response:
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise MalformedProxyResponse("statusCode is missing")
    body = result.get("body") or ""
    if not isinstance(body, str):
        raise MalformedProxyResponse("body must be a string")
    try:
        content = base64.b64decode(body, validate=True) if result.get("isBase64Encoded") else body.encode()
    except binascii.Error as exc:
        raise MalformedProxyResponse("isBase64Encoded is set but the body is not base64") from exc
    response = Response(content=content, status_code=result["statusCode"])
    for name, value in _merged_headers(result):
        if name.lower() not in _HOP_BY_HOP:
            response.headers.append(name, value)
    if "content-type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    response.headers["x-amzn-RequestId"] = request_id
    return response


def _merged_headers(result: dict[str, Any]) -> list[tuple[str, str]]:
    """`headers` and `multiValueHeaders` merged; for a name in both, the multi values win."""
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise MalformedProxyResponse("headers must be objects")
    multi_names = {name.lower() for name in multi}
    merged = [(name, str(value)) for name, value in single.items() if name.lower() not in multi_names]
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResponse("multiValueHeaders values must be lists")
        merged += [(name, str(value)) for value in values]
    return merged


# Status → error code of API Gateway's own answers, from the gateway responses the stack
# configures (realtime.entrypoints.rest.GATEWAY_RESPONSES; filled in by RestGateway).
_CODES: dict[int, str] = {}


def _gateway_answer(
    status: int, message: str | None, request_id: str, error_type: str | None = None, *, code: str | None = None
) -> Response:
    """An answer API Gateway gives itself, without the integration, shaped by the stack's
    gateway responses: {"code": …, "message": …}."""
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error_type or _ERROR_TYPES.get(status, "")}
    code = code or _CODES.get(status, "BadRequest" if status < 500 else "InternalError")
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)
