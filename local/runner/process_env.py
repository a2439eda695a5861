"""The process-wide state a local stack changes: os.environ, and what the handlers and
the shared layer cache from it at cold start. Both are restored on stop, so a test
session that starts a stack leaves the process as it found it."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from local.emulated.lambdas import unload_handlers

# A developer's own AWS settings must never reach the handlers: they would send calls
# to a real account, or fail on a profile that only exists on that machine.
_FOREIGN_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
)

SavedEnvironment = dict[str, str | None]


def apply(values: Mapping[str, str]) -> SavedEnvironment:
    """Set `values` (and unset foreign AWS variables); return what to restore."""
    saved = {name: os.environ.get(name) for name in (*values, *_FOREIGN_AWS_VARIABLES)}
    for name in _FOREIGN_AWS_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(values)
    forget_cold_start_state()
    return saved


def restore(saved: SavedEnvironment) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    forget_cold_start_state()


def forget_cold_start_state() -> None:
    """Drop the loaded handlers, everything the shared layer caches at module level
    (settings, the composition root's wired hub and clients) and boto3's default session,
    so the next load is a cold start against the current environment."""
    unload_handlers()
    # copy() is atomic under the GIL; list(items()) is not, and a handler thread may import meanwhile.
    for name, module in sys.modules.copy().items():
        if name != "realtime" and not name.startswith("realtime."):
            continue
        for value in list(vars(module).values()):
            # functools.cache / lru_cache wrappers defined in (or imported into) the layer.
            if callable(value) and callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
    boto3 = sys.modules.get("boto3")
    if boto3 is not None:  # its default session keeps the credentials and config it first read
        boto3.DEFAULT_SESSION = None  # type: ignore[attr-defined]
    for name in ("realtime.observability", "realtime.lean_logging"):  # the authorizers log with the lean one
        logging_module = sys.modules.get(name)
        if logging_module is not None:  # imported before this environment was set
            logging_module.reread_environment()
