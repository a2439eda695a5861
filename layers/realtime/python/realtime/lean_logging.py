"""The authorizers' logger: stdlib logging writing the JSON lines Powertools' Logger writes
(same keys, same order), without importing Powertools, whose Logger alone costs the
handshake's cold start about a fifth of a boto3 client (docs/architecture.md, "Cold start").

    logger.info("token refused", extra={"reason": ...})

    @inject_lambda_context(correlation_id_path=API_GATEWAY_REST)
    def handler(event, context): ...

Keys: level, location, message, timestamp, service (POWERTOOLS_SERVICE_NAME), then during
an invocation cold_start, function_name, function_memory_size, function_arn,
function_request_id, correlation_id, then the `extra` keys, exception details, and
xray_trace_id (from _X_AMZN_TRACE_ID). The level: AWS_LAMBDA_LOG_LEVEL (Lambda's advanced
logging controls), else POWERTOOLS_LOG_LEVEL or LOG_LEVEL, else INFO.

The event is never logged (tokens travel in it), nor is anything of it but the request id.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

# Powertools' correlation_paths.API_GATEWAY_REST (also its HTTP API and function URL path).
API_GATEWAY_REST = "requestContext.requestId"
LOGGER_NAME = "realtime.lean"

# Lambda's advanced logging controls' levels → the stdlib's (as Powertools maps them).
_LAMBDA_LEVELS = {
    "TRACE": "NOTSET",
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARNING",
    "ERROR": "ERROR",
    "FATAL": "CRITICAL",
}
# The LogRecord attributes that are not `extra` keys (Powertools' RESERVED_LOG_ATTRS).
_RESERVED = frozenset(
    {
        *("name", "msg", "args", "level", "levelname", "levelno", "pathname", "filename", "module"),
        *("exc_info", "exc_text", "stack_info", "lineno", "funcName", "created", "msecs"),
        *("relativeCreated", "thread", "threadName", "processName", "process", "asctime"),
        *("location", "timestamp", "message"),
    }
)

# The running invocation's keys (cold_start, function_*, correlation_id): per thread and
# task, so concurrent invocations in one process (the local stack) never mix them.
_invocation: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("lean_invocation", default=None)
_service = "service_undefined"


class JsonFormatter(logging.Formatter):
    """One JSON object per record, as Powertools' LambdaPowertoolsFormatter writes it."""

    def format(self, record: logging.LogRecord) -> str:
        msecs = "%03d" % record.msecs  # noqa: UP031 - as Powertools formats it
        log: dict[str, Any] = {
            "level": record.levelname,
            "location": f"{record.funcName}:{record.lineno}",
            "message": _message(record),
            "timestamp": time.strftime(f"%Y-%m-%d %H:%M:%S,{msecs}%z", time.localtime(record.created)),
            "service": _service,
        }
        log.update(_invocation.get() or {})
        log.update((key, value) for key, value in vars(record).items() if key not in _RESERVED)
        if isinstance(record.exc_info, tuple) and hasattr(record.exc_info[0], "__name__"):
            kind, error, trace = record.exc_info
            log.setdefault("exception", self.formatException(record.exc_info))
            log.setdefault("exception_name", kind.__name__)  # type: ignore[union-attr]
            log.setdefault("exception_notes", getattr(error, "__notes__", None))
            log["stack_trace"] = {
                "type": kind.__name__,  # type: ignore[union-attr]
                "value": error,
                "module": type(error).__module__,
                "frames": [
                    {"file": frame.filename, "line": frame.lineno, "function": frame.name, "statement": frame.line}
                    for frame in traceback.extract_tb(trace)
                ],
            }
        trace_header = os.environ.get("_X_AMZN_TRACE_ID")
        log["xray_trace_id"] = trace_header.split(";")[0].replace("Root=", "") if trace_header else None
        indent = 4 if os.environ.get("POWERTOOLS_DEV", "").lower() in ("1", "true", "on", "y", "yes") else None
        return json.dumps(
            {key: value for key, value in log.items() if value is not None},
            default=str,
            separators=(",", ":"),
            indent=indent,
            ensure_ascii=False,
        )


def _message(record: logging.LogRecord) -> Any:
    if isinstance(record.msg, dict):
        return record.msg
    if record.args:
        return record.getMessage()
    if isinstance(record.msg, str):  # a JSON string is logged as what it encodes
        try:
            return json.loads(record.msg)
        except ValueError:
            pass
    return record.msg


def _build_logger() -> logging.Logger:
    built = logging.getLogger(LOGGER_NAME)
    built.propagate = False  # one line per record, never a second one from the root's handler
    if not any(getattr(handler, "lean_json", False) for handler in built.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler.lean_json = True  # type: ignore[attr-defined]
        built.addHandler(handler)
    return built


logger = _build_logger()


def reread_environment() -> None:
    """Read the service name and the level from the environment again. In Lambda the
    environment is set before the first import; the local stack sets it later, for functions
    sharing one process, and calls this at every cold start it emulates (as it does
    realtime.observability's)."""
    global _service
    _service = os.environ.get("POWERTOOLS_SERVICE_NAME") or "service_undefined"
    lambda_level = _LAMBDA_LEVELS.get(os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "")
    level = os.environ.get("POWERTOOLS_LOG_LEVEL") or os.environ.get("LOG_LEVEL")
    logger.setLevel(lambda_level or (level.upper() if level else logging.INFO))


reread_environment()

Handler = TypeVar("Handler", bound=Callable[..., Any])


def inject_lambda_context(*, correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """Powertools' `Logger.inject_lambda_context`: every line logged during an invocation
    carries the context's keys and the event's correlation id (a dotted path). `cold_start`
    is true on the first invocation of this handler: one per load, as in a new sandbox
    (the local stack reloads the handlers at each cold start it emulates)."""

    def decorate(handler: Handler) -> Handler:
        first = [True]

        @functools.wraps(handler)
        def wrapper(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            cold_start, first[0] = first[0], False
            if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "provisioned-concurrency":
                cold_start = False
            keys: dict[str, Any] = {
                "cold_start": cold_start,
                "function_name": getattr(context, "function_name", None),
                "function_memory_size": getattr(context, "memory_limit_in_mb", None),
                "function_arn": getattr(context, "invoked_function_arn", None),
                "function_request_id": getattr(context, "aws_request_id", None),
            }
            if correlation_id_path:
                keys["correlation_id"] = _at_path(event, correlation_id_path)
            token = _invocation.set(keys)
            try:
                return handler(event, context, *args, **kwargs)
            finally:
                _invocation.reset(token)

        return wrapper  # type: ignore[return-value]

    return decorate


def _at_path(data: Any, path: str) -> Any:
    for step in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data
