"""The local deployment as the tests drive it: `LocalDeployment` plus the waits and
searches only tests need (a connection by user agent, the bus's events and dead letters,
an idle fan-out queue, a socket's $disconnect). Every wait polls from the caller's thread
and is bounded, so a missing event fails fast with what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from local.emulated.connections import ConnectionInfo
from local.runner.deployment import LocalDeployment


class ObservedDeployment(LocalDeployment):
    def find_connection(self, user_agent: str) -> ConnectionInfo | None:
        return next((info for info in self.connections() if info.user_agent == user_agent), None)

    def wait_fanout_idle(self, timeout: float = 30.0) -> None:
        """Until every queued slice has been processed (or dead-lettered)."""
        self._wait(
            lambda: (d := self.fanout_queue_depth())["visible"] == 0 and d["inFlight"] == 0,
            timeout,
            "the fan-out queue did not drain",
            interval=0.1,  # each look is a request to moto, which serves one at a time
        )

    def wait_for_event(
        self,
        detail_type: str,
        where: Mapping[str, Any] | None = None,
        *,
        after: int = 0,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The first event of `detail_type` whose detail has every key of `where` with the
        same value, waiting for it if need be."""
        expected = dict(where or {})

        def found() -> dict[str, Any] | None:
            for event in self.events(detail_type, after=after):
                detail = event["detail"]
                if all(key in detail and detail[key] == value for key, value in expected.items()):
                    return event
            return None

        self._wait(lambda: found() is not None, timeout, f"no {detail_type!r} event with {expected}")
        event = found()
        assert event is not None
        return event

    def wait_for_dead_letter(self, event_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The dead letter of the event `event_id` (refused by ingest, or its on-failure record)."""

        def found() -> dict[str, Any] | None:
            for letter in self.dead_letters():
                body = letter["body"] if isinstance(letter["body"], dict) else {}
                event = body.get("event") or body.get("requestPayload") or {}
                if isinstance(event, dict) and event.get("id") == event_id:
                    return letter
            return None

        letter: dict[str, Any] | None = None

        def arrived() -> bool:
            nonlocal letter
            letter = found()
            return letter is not None

        self._wait(arrived, timeout, f"no dead letter for event {event_id}", interval=0.05)
        assert letter is not None
        return letter

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no socket is open and every $disconnect has run."""
        self._wait(lambda: not self.open_count(), timeout, "WebSocket sessions still open")

    def wait_gone(self, connection_id: str, timeout: float = 5.0) -> None:
        """Wait until the connection is closed and its $disconnect has run."""
        self._wait(lambda: not self.is_open(connection_id), timeout, f"{connection_id} is open")

    @staticmethod
    def _wait(done: Callable[[], bool], timeout: float, what: str, interval: float = 0.005) -> None:
        # Polled from the caller's thread: reading a set's size or membership is atomic.
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"after {timeout} s: {what}")
            time.sleep(interval)
