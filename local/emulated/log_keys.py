"""Each invocation logs with the keys of its own execution environment, as in Lambda.

In AWS a function's concurrent invocations run in separate execution environments
(processes), so the keys Powertools' `inject_lambda_context` and `append_keys` set
(function_name, the request id, the correlation id, a worker's message_id…) are that
environment's alone, and persist from one of its invocations to the next. Here every
function shares one process and the layer's one Logger (realtime.observability), whose
formatter keeps those keys in a single dict: a fan-out worker's line would carry the
function name of a `$connect` running at the same moment.

`EnvironmentKeys` stands in for that dict: a view onto the keys of the environment whose
invocation runs in the current thread. An invocation takes a free environment of its
function (or a new one, starting from the keys set at cold start) and gives it back when
it returns, so the keys behave as they would in Lambda: shared by sequential invocations
of one environment, never by concurrent ones nor across functions. (The authorizers'
lean logger already keeps its keys per invocation: realtime/lean_logging.py.)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any


class EnvironmentKeys(MutableMapping[str, Any]):
    def __init__(self, initial: MutableMapping[str, Any]) -> None:
        # Outside any invocation (cold starts, the emulator's own lines): the process's keys.
        self._process_keys = dict(initial)
        self._free: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._current: ContextVar[dict[str, Any] | None] = ContextVar("environment_log_keys", default=None)

    @contextlib.contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        with self._lock:
            free = self._free.setdefault(function, [])
            keys = free.pop() if free else dict(self._process_keys)
        token = self._current.set(keys)
        try:
            yield
        finally:
            self._current.reset(token)
            with self._lock:
                free.append(keys)

    def forget_environments(self) -> None:
        """Every function's next invocation starts in a new environment (a cold start)."""
        with self._lock:
            self._free.clear()

    def _keys(self) -> dict[str, Any]:
        keys = self._current.get()
        return self._process_keys if keys is None else keys

    def __getitem__(self, key: str) -> Any:
        return self._keys()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._keys()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._keys()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys()))  # a snapshot: another thread may add keys meanwhile

    def __len__(self) -> int:
        return len(self._keys())


_installed: tuple[Any, EnvironmentKeys] | None = None  # (the formatter, its view)
_install_lock = threading.Lock()


def environment_keys() -> EnvironmentKeys:
    """The view, installed in the layer's Logger on first use (after the stack's environment
    is set: importing realtime.observability builds the Logger from it), and again if the
    formatter's keys were replaced since (Powertools' clear_state starts a new dict)."""
    global _installed
    installed = _installed
    if installed is not None and installed[0].log_format is installed[1]:
        return installed[1]
    with _install_lock:
        from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

        from realtime.observability import logger

        formatter = logger.registered_formatter
        if not isinstance(formatter, LambdaPowertoolsFormatter):
            raise TypeError(f"the layer's Logger formats with {type(formatter).__name__}, not Powertools' own")
        if _installed is None or _installed[0] is not formatter or formatter.log_format is not _installed[1]:
            # `log_format` is where Powertools' formatter keeps the appended keys.
            view = EnvironmentKeys(formatter.log_format)
            formatter.log_format = view  # type: ignore[assignment]
            _installed = (formatter, view)
        return _installed[1]


def forget_environments() -> None:
    if _installed is not None:
        _installed[1].forget_environments()
