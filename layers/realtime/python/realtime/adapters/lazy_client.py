"""boto3 clients created at their first call rather than at cold start: a function that
never enqueues, dead-letters or emits a lifecycle event never loads those services'
models (each client costs tens of milliseconds of init: `python -m bench.coldstart`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# boto3's default session is not safe to create clients from in several threads at once,
# and a lazy client may first be used from the fan-out pool.
_creation = threading.Lock()


class ClientOnFirstUse:
    """Stands in for the client `create()` returns, creating it once, on first use."""

    def __init__(self, create: Callable[[], Any]) -> None:
        self._create = create
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            with _creation:
                if self._client is None:
                    self._client = self._create()
                client = self._client
        return getattr(client, name)
