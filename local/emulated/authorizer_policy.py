"""What API Gateway does with a Lambda authorizer's answer: evaluate its IAM policy
against the method ARN (an explicit Deny wins, then an Allow, otherwise deny) and pass
its flat `context` on to the integration."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


class InvalidAuthorizerResponse(Exception):
    """API Gateway answers 500 when the authorizer's response is malformed."""


@dataclass(frozen=True)
class AuthorizerDecision:
    allowed: bool
    principal_id: str
    context: dict[str, str | int | float | bool]
    # A Deny statement matched (REST APIs word their 403 differently then).
    denied_explicitly: bool = False


def evaluate(response: Any, method_arn: str) -> AuthorizerDecision:
    if not isinstance(response, dict):
        raise InvalidAuthorizerResponse("the response is not a JSON object")
    principal_id = response.get("principalId")
    if not isinstance(principal_id, str) or not principal_id:
        raise InvalidAuthorizerResponse("principalId is missing")
    context = response.get("context") or {}
    if not isinstance(context, dict) or not all(
        isinstance(value, str | int | float | bool) for value in context.values()
    ):
        raise InvalidAuthorizerResponse("context must be a flat map of strings, numbers and booleans")
    document = response.get("policyDocument")
    if not isinstance(document, dict):
        raise InvalidAuthorizerResponse("policyDocument is missing")

    allowed = False
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict):
            raise InvalidAuthorizerResponse("a policy statement is not an object")
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        applies = any(_matches(action, "execute-api:Invoke", ignore_case=True) for action in actions) and any(
            _matches(resource, method_arn) for resource in resources
        )
        if not applies:
            continue
        if statement.get("Effect") == "Deny":
            return AuthorizerDecision(False, principal_id, context, denied_explicitly=True)
        if statement.get("Effect") == "Allow":
            allowed = True
    return AuthorizerDecision(allowed, principal_id, context)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _matches(pattern: Any, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcards: `*` matches any run of characters (slashes too), `?` exactly one."""
    if not isinstance(pattern, str):
        return False
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.fullmatch(regex, value, flags=re.IGNORECASE if ignore_case else 0) is not None
