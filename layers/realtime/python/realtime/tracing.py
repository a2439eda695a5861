"""X-Ray tracing (Powertools Tracer) for the functions that call AWS, built only where it
records something.

Powertools' `Tracer()` imports the X-Ray SDK even when tracing is off, and by default
patches every library it finds installed (botocore, requests, httpx, sqlite3, httplib…),
importing each: most of a function's init besides boto3 (measured by `python -m
bench.coldstart`). Here:

- the Tracer is built only when it would trace, by Powertools' own rule (in Lambda, i.e.
  LAMBDA_TASK_ROOT is set, not under SAM or Chalice locally, and POWERTOOLS_TRACE_DISABLED
  not true); otherwise the handler is returned as it is and the X-Ray SDK is never
  imported (the local stack, the tests);
- it is built at the first invocation, not at import: importing the X-Ray SDK is ~50 ms
  (asyncio, wrapt, its emitters and sampling), which would be most of what an init spends
  beyond boto3 (`python -m bench coldstart`). The first invocation pays it instead, once;
  it is then traced exactly as before (the `## handler` subsegment with its ColdStart
  annotation, and every botocore call: the patch is on botocore's client class, so it
  covers the clients built at init). Lambda's own segments record the init either way;
- it patches botocore only: the DynamoDB, SQS and EventBridge calls are what the traces
  show. Nothing else is worth a subsegment: @connections goes over our own sockets
  (adapters/signed_sender.py, which no patch sees), and the hourly JWKS fetch (urllib,
  i.e. httplib) is the only other outbound call;
- the authorizers do not trace at all: they call no AWS service, and Lambda's active
  tracing already records their init and invocation segments.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

Handler = TypeVar("Handler", bound=Callable[..., Any])

PATCHED_MODULES = ("botocore",)


def tracing_enabled() -> bool:
    """Whether Powertools' Tracer would trace here (its `_is_tracer_disabled`, inverted)."""
    if resolve_truthy_env_var_choice(env=os.getenv(constants.TRACER_DISABLED_ENV, "false")):
        return False
    in_lambda = bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV))
    emulated = bool(os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV))
    return in_lambda and not emulated


def capture_lambda_handler(handler: Handler) -> Handler:
    """`Tracer.capture_lambda_handler` (the `## handler` subsegment, ColdStart and Service
    annotations, the response or exception as metadata) when tracing is on, the Tracer
    built (and botocore patched) at the first invocation."""
    if not tracing_enabled():
        return handler
    traced: Callable[..., Any] | None = None

    @functools.wraps(handler)
    def traced_handler(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal traced
        if traced is None:  # Lambda runs one invocation at a time per execution environment
            traced = trace(handler)
        return traced(event, context, *args, **kwargs)

    return cast("Handler", traced_handler)


def trace(handler: Handler) -> Handler:
    """The Tracer, patching botocore only, around `handler` (imports the X-Ray SDK)."""
    from aws_lambda_powertools import Tracer

    return cast("Handler", Tracer(patch_modules=PATCHED_MODULES).capture_lambda_handler(handler))
