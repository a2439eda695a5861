"""Access logs shaped like API Gateway's common log format.

Tokens travel in the query string (WebSocket) and the Authorization header (REST), so
neither is ever logged: a line names the path or route only. Uvicorn's own request
lines include the query string, so they are disabled and its remaining log lines are
redacted too.
"""

from __future__ import annotations

import logging
import re
import sys

from local.emulated.gateway_requests import now_ms, request_time

logger = logging.getLogger("local.access")

_QUERY = re.compile(r"\?\S*")


class RedactQueryStrings(logging.Filter):
    """Strips `?…` from a log record's message and string arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _QUERY.sub("?<redacted>", record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_QUERY.sub("?<redacted>", arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


def configure(enabled: bool = True, verbose: bool = False) -> None:
    """Print access lines on stderr, unless logging is configured already (as under
    pytest): then they go to the root logger. `verbose` adds the functions' @connections calls."""
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.INFO if enabled else logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryStrings) for f in uvicorn_logger.filters):
            uvicorn_logger.addFilter(RedactQueryStrings())


def http(source_ip: str, method: str, path: str, status: int, length: int, request_id: str, started_ms: int) -> None:
    logger.info(
        '%s - - [%s] "%s %s HTTP/1.1" %d %d requestId=%s latency=%dms',
        source_ip,
        request_time(started_ms),
        method,
        path,
        status,
        length,
        request_id,
        now_ms() - started_ms,
    )


def websocket(source_ip: str, route: str, status: int, connection_id: str, started_ms: int, detail: str = "") -> None:
    logger.info(
        '%s - - [%s] "WEBSOCKET %s" %d connectionId=%s latency=%dms%s',
        source_ip,
        request_time(started_ms),
        route,
        status,
        connection_id,
        now_ms() - started_ms,
        f" {detail}" if detail else "",
    )


def management(source_ip: str, method: str, connection_id: str, status: int, length: int, started_ms: int) -> None:
    logger.debug(
        '%s - - [%s] "%s /@connections/%s" %d %d latency=%dms',
        source_ip,
        request_time(started_ms),
        method,
        connection_id,
        status,
        length,
        now_ms() - started_ms,
    )


def refused(source_ip: str, status: int, reason: str) -> None:
    """A request answered before it reached a route (its path may carry a token: not logged)."""
    logger.info('%s - - [%s] "-" %d %s', source_ip, request_time(now_ms()), status, reason)
