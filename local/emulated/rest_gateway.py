"""The REST API as infra/rest_api.py deploys it: the public GET routes (health, status,
openapi.json), and `{proxy+}` under the base path behind the Lambda TOKEN authorizer. Each
request becomes a Lambda proxy (v1) event for rest_api, and its result the HTTP response."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from local.emulated import access_log
from local.emulated.gateway_requests import Gateway, HttpRequest, RestResource, now_ms, rest_event
from local.emulated.ids import rest_request_id
from local.emulated.lambdas import LambdaRuntime
from local.emulated.rest_authorizer import TokenAuthorizer, Verdict

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


class MalformedProxyResponse(Exception):
    """API Gateway answers 502 when a proxy integration returns something malformed."""


class RestGateway:
    def __init__(self, gateway: Gateway, runtime: LambdaRuntime) -> None:
        # Imported here, not at the top: the layer's module-level objects (its logger) read
        # os.environ when first imported, which must happen after the stack has set it.
        from realtime.entrypoints.rest import BASE_PATH, GATEWAY_RESPONSES, PUBLIC_PATHS

        self._gateway = gateway
        self._runtime = runtime
        self._authorizer = TokenAuthorizer(gateway, runtime)
        self._public_paths = frozenset(PUBLIC_PATHS)
        _CODES.update({status: code for status, code in GATEWAY_RESPONSES.values() if status is not None})
        self._proxy_prefix = f"{BASE_PATH}/"
        self._proxy_resource = f"{BASE_PATH}/{{proxy+}}"

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
        resource, protected = self._resource(method, path)
        if resource is None:
            status, message, error_type = _MISSING_ROUTE
            return _gateway_answer(status, message, request_id, error_type)
        verdict = await self._authorizer.check(method, path, http_request.headers) if protected else Verdict(200)
        if not verdict.allowed:
            return _gateway_answer(verdict.status, verdict.message, request_id)
        body = await _read_body(request)
        if body is None:
            return _gateway_answer(413, "Request Too Long", request_id)
        event = rest_event(
            self._gateway,
            method=method,
            path=path,
            resource=resource,
            request=http_request,
            body=body,
            request_id=request_id,
            authorizer=verdict.authorizer,
        )
        try:
            return _to_response(await self._runtime.invoke("rest_api", event), request_id)
        except MalformedProxyResponse:
            logger.exception("rest_api returned a malformed proxy response")
        except Exception:
            logger.exception("rest_api failed")
        return _gateway_answer(502, "Internal server error", request_id)

    def _resource(self, method: str, path: str) -> tuple[RestResource | None, bool]:
        """The resource a request matches, and whether it is behind the authorizer. API
        Gateway prefers the most specific resource: a public path takes GET only."""
        if path in self._public_paths:  # ANY: the function answers 405 to other methods
            return RestResource(path), False
        proxy = path.removeprefix(self._proxy_prefix)
        if path.startswith(self._proxy_prefix) and proxy:
            return RestResource(self._proxy_resource, {"proxy": proxy}), True
        return None, False


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


def _gateway_answer(status: int, message: str | None, request_id: str, error_type: str | None = None) -> Response:
    """An answer API Gateway gives itself, without the integration, shaped by the stack's
    gateway responses: {"code": …, "message": …}."""
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": error_type or _ERROR_TYPES.get(status, "")}
    code = _CODES.get(status, "BadRequest" if status < 500 else "InternalError")
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=headers)
