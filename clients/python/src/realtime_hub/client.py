"""The REST clients: `Hub` (sync) and `AsyncHub` (asyncio), with the same methods.

Every publish carries an `Idempotency-Key` (yours, or one generated per logical call) that
every retry of that call reuses, so a retried publish never delivers twice. See
`RetryPolicy` for what is retried.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

import httpx

from realtime.domain import event_types as et
from realtime_hub import _core
from realtime_hub._core import BATCH_LIMIT, LOCAL_REST_URL, Call, RetryPolicy
from realtime_hub.auth import StaticToken
from realtime_hub.errors import ApiError
from realtime_hub.models import (
    BatchResult,
    Envelope,
    Event,
    HistoryPage,
    Me,
    MessageProgress,
    PlatformSnapshot,
    Presence,
    Published,
)

DEFAULT_TIMEOUT = 30.0
R = TypeVar("R")  # what an event method answers: Published, or an awaitable of it


class _Options:
    def __init__(
        self,
        rest_url: str,
        auth: httpx.Auth | str | None,
        retry: RetryPolicy | None,
        auto_idempotency_keys: bool,
        key_factory: Callable[[], str],
    ) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.auth: httpx.Auth | None = StaticToken(auth) if isinstance(auth, str) else auth
        self.retry = retry or RetryPolicy()
        self.auto_keys = auto_idempotency_keys
        self.key_factory = key_factory

    def key(self, given: str | None) -> str | None:
        return given if given is not None else (self.key_factory() if self.auto_keys else None)

    def batch_calls(self, events: Iterable[Event | et.EventData], idempotency_key: str | None) -> list[Call]:
        bodies = [(e if isinstance(e, Event) else Event(data=e)).body() for e in events]
        calls = []
        for index, start in enumerate(range(0, len(bodies), BATCH_LIMIT)):
            key = _core.chunk_key(idempotency_key, index) if idempotency_key is not None else self.key(None)
            calls.append(Call("POST", "/publish", {"events": bodies[start : start + BATCH_LIMIT]}, None, key))
        return calls


def _results(body: Any) -> list[BatchResult]:
    return [BatchResult.model_validate(item) for item in body["results"]]


def _history_call(group: str, after: int, limit: int) -> Call:
    return Call("GET", f"/groups/{_core.segment(group)}/history", None, {"after": after, "limit": limit})


class _EventMethods(Generic[R]):
    """One method per event type, the same on `Hub` (which answers `Published`) and on
    `AsyncHub` (which answers an awaitable of it): each is `_event` with its route."""

    def _event(self, data: et.EventData, idempotency_key: str | None, route: str | None = None) -> R:
        raise NotImplementedError

    def platform_update(self, data: et.PlatformStatus, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)

    def analytics(self, data: et.AnalyticsUpdate, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)

    def user_count(self, data: et.UserCountUpdate, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)

    def generation_metrics(self, data: et.GenerationMetrics, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)

    def revenue(self, data: et.RevenueUpdate, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)

    def test_message(self, data: et.TestMessage, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)

    def alert(self, data: et.Alert, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)

    def performance_alert(self, data: et.PerformanceAlert, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)

    def alert_warning(self, data: et.Alert, *, idempotency_key: str | None = None) -> R:
        """`POST /alert/warning`: the severity is `warning` whatever `data` says."""
        return self._event(data, idempotency_key, "/alert/warning")

    def alert_error(self, data: et.Alert, *, idempotency_key: str | None = None) -> R:
        """`POST /alert/error`: the severity is `error` whatever `data` says."""
        return self._event(data, idempotency_key, "/alert/error")

    def user_action(self, data: et.UserAction, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)

    def role_assignment(self, data: et.RoleAssignment, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)

    def system_event(self, data: et.SystemEvent, *, idempotency_key: str | None = None) -> R:
        return self._event(data, idempotency_key)


class Hub(_EventMethods[Published]):
    """The sync client. `Hub(rest_url, auth=...)`; `auth` is a token string or an auth
    provider (`StaticToken`, `ClientCredentials`, `SigV4`). Close it, or use `with`."""

    def __init__(
        self,
        rest_url: str = LOCAL_REST_URL,
        *,
        auth: httpx.Auth | str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        auto_idempotency_keys: bool = True,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        key_factory: Callable[[], str] = _core.new_key,
    ) -> None:
        self._options = _Options(rest_url, auth, retry, auto_idempotency_keys, key_factory)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self._options.rest_url,
            auth=self._options.auth,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    @property
    def auth(self) -> httpx.Auth | None:
        return self._options.auth

    def call(self, call: Call) -> Any:
        """Send `call`, retrying as the policy says; its JSON answer, or its typed error."""
        policy = self._options.retry
        for attempt in itertools.count():
            try:
                response = self._http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=call.headers()
                )
            except httpx.TransportError as exc:
                delay = policy.delay_after_failure(call, attempt, exc)
                if delay is None:
                    raise _core.transport_error(call, exc) from exc
                self._sleep(delay)
                continue
            try:
                return _core.outcome(response)
            except ApiError as error:
                delay = policy.delay_after_answer(call, attempt, error)
                if delay is None:
                    raise
                self._sleep(delay)
        raise AssertionError("unreachable")

    # --- publishing -------------------------------------------------------------------
    def publish(
        self,
        data: et.EventData,
        *,
        group: str | None = None,
        user_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Published:
        """`POST /publish`: `data`'s event type to `group` (the type's default group
        unless told), or to every connection of `user_id`."""
        key = self._options.key(idempotency_key)
        return Published.model_validate(
            self.call(_core.publish_call(data, group=group, user_id=user_id, idempotency_key=key))
        )

    def publish_batch(
        self, events: Iterable[Event | et.EventData], *, idempotency_key: str | None = None
    ) -> list[BatchResult]:
        """Any number of events, sent 100 per request; one result per event, in order.
        A failed event is a result with its error status (`ok` false), never an exception."""
        results: list[BatchResult] = []
        for call in self._options.batch_calls(events, idempotency_key):
            results.extend(_results(self.call(call)))
        return results

    def _event(self, data: et.EventData, idempotency_key: str | None, route: str | None = None) -> Published:
        return Published.model_validate(self.call(_core.event_call(data, self._options.key(idempotency_key), route)))

    # --- reading ----------------------------------------------------------------------
    def history_page(self, group: str, *, after: int = 0, limit: int = 100) -> HistoryPage:
        return HistoryPage.model_validate(self.call(_history_call(group, after, limit)))

    def history(self, group: str, *, after: int = 0, page_size: int = 100) -> Iterator[Envelope]:
        """Every stored message of `group` with seq > `after`, in seq order, page by page."""
        cursor: int | None = after
        while cursor is not None:
            page = self.history_page(group, after=cursor, limit=page_size)
            yield from page.items
            cursor = page.next

    def presence(self, group: str) -> Presence:
        return Presence.model_validate(self.call(Call("GET", f"/groups/{_core.segment(group)}")))

    def groups(self) -> list[Presence]:
        return [Presence.model_validate(g) for g in self.call(Call("GET", "/groups"))["groups"]]

    def platform_snapshot(self) -> PlatformSnapshot:
        return PlatformSnapshot.model_validate(self.call(Call("GET", "/platform-snapshot")))

    def me(self) -> Me:
        return Me.model_validate(self.call(Call("GET", "/me")))

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = self.call(Call("GET", "/health"))
        return body

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = self.call(Call("GET", "/status"))
        return body

    def openapi(self) -> dict[str, Any]:
        """The hub's OpenAPI 3.1 document."""
        body: dict[str, Any] = self.call(Call("GET", "/openapi.json"))
        return body

    def message(self, message_id: str) -> MessageProgress:
        """A queued fan-out's progress (`GET /messages/{id}`)."""
        return MessageProgress.model_validate(self.call(Call("GET", f"/messages/{_core.segment(message_id)}")))

    def wait_until_done(
        self, message: str | Published, *, interval: float = 0.5, timeout: float = 300.0
    ) -> MessageProgress:
        """Poll a queued message until every slice is done; raises TimeoutError after `timeout` s."""
        message_id = message.id if isinstance(message, Published) else message
        deadline = time.monotonic() + timeout
        while True:
            progress = self.message(message_id)
            if progress.done or progress.status in ("done", "failed"):
                return progress
            if time.monotonic() >= deadline:
                raise TimeoutError(f"message {message_id} still {progress.status} after {timeout} s")
            self._sleep(interval)

    # --- administration -----------------------------------------------------------------
    def close_connection(self, connection_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.call(Call("DELETE", f"/connections/{_core.segment(connection_id)}"))
        return body

    def close_user_connections(self, user_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.call(Call("DELETE", f"/users/{_core.segment(user_id)}/connections"))
        return body

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class AsyncHub(_EventMethods[Awaitable[Published]]):
    """The asyncio client: `Hub`'s methods as coroutines (`history` an async iterator)."""

    def __init__(
        self,
        rest_url: str = LOCAL_REST_URL,
        *,
        auth: httpx.Auth | str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        auto_idempotency_keys: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        key_factory: Callable[[], str] = _core.new_key,
    ) -> None:
        self._options = _Options(rest_url, auth, retry, auto_idempotency_keys, key_factory)
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=self._options.rest_url,
            auth=self._options.auth,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )

    @property
    def auth(self) -> httpx.Auth | None:
        return self._options.auth

    async def call(self, call: Call) -> Any:
        policy = self._options.retry
        for attempt in itertools.count():
            try:
                response = await self._http.request(
                    call.method, call.path, json=call.json, params=call.params, headers=call.headers()
                )
            except httpx.TransportError as exc:
                delay = policy.delay_after_failure(call, attempt, exc)
                if delay is None:
                    raise _core.transport_error(call, exc) from exc
                await self._sleep(delay)
                continue
            try:
                return _core.outcome(response)
            except ApiError as error:
                delay = policy.delay_after_answer(call, attempt, error)
                if delay is None:
                    raise
                await self._sleep(delay)
        raise AssertionError("unreachable")

    async def publish(
        self,
        data: et.EventData,
        *,
        group: str | None = None,
        user_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Published:
        key = self._options.key(idempotency_key)
        call = _core.publish_call(data, group=group, user_id=user_id, idempotency_key=key)
        return Published.model_validate(await self.call(call))

    async def publish_batch(
        self, events: Iterable[Event | et.EventData], *, idempotency_key: str | None = None
    ) -> list[BatchResult]:
        results: list[BatchResult] = []
        for call in self._options.batch_calls(events, idempotency_key):
            results.extend(_results(await self.call(call)))
        return results

    async def _event(self, data: et.EventData, idempotency_key: str | None, route: str | None = None) -> Published:
        call = _core.event_call(data, self._options.key(idempotency_key), route)
        return Published.model_validate(await self.call(call))

    async def history_page(self, group: str, *, after: int = 0, limit: int = 100) -> HistoryPage:
        return HistoryPage.model_validate(await self.call(_history_call(group, after, limit)))

    async def history(self, group: str, *, after: int = 0, page_size: int = 100) -> AsyncGenerator[Envelope, None]:
        cursor: int | None = after
        while cursor is not None:
            page = await self.history_page(group, after=cursor, limit=page_size)
            for item in page.items:
                yield item
            cursor = page.next

    async def presence(self, group: str) -> Presence:
        return Presence.model_validate(await self.call(Call("GET", f"/groups/{_core.segment(group)}")))

    async def groups(self) -> list[Presence]:
        return [Presence.model_validate(g) for g in (await self.call(Call("GET", "/groups")))["groups"]]

    async def platform_snapshot(self) -> PlatformSnapshot:
        return PlatformSnapshot.model_validate(await self.call(Call("GET", "/platform-snapshot")))

    async def me(self) -> Me:
        return Me.model_validate(await self.call(Call("GET", "/me")))

    async def health(self) -> dict[str, Any]:
        body: dict[str, Any] = await self.call(Call("GET", "/health"))
        return body

    async def status(self) -> dict[str, Any]:
        body: dict[str, Any] = await self.call(Call("GET", "/status"))
        return body

    async def openapi(self) -> dict[str, Any]:
        body: dict[str, Any] = await self.call(Call("GET", "/openapi.json"))
        return body

    async def message(self, message_id: str) -> MessageProgress:
        return MessageProgress.model_validate(await self.call(Call("GET", f"/messages/{_core.segment(message_id)}")))

    async def wait_until_done(
        self, message: str | Published, *, interval: float = 0.5, timeout: float = 300.0
    ) -> MessageProgress:
        message_id = message.id if isinstance(message, Published) else message
        deadline = time.monotonic() + timeout
        while True:
            progress = await self.message(message_id)
            if progress.done or progress.status in ("done", "failed"):
                return progress
            if time.monotonic() >= deadline:
                raise TimeoutError(f"message {message_id} still {progress.status} after {timeout} s")
            await self._sleep(interval)

    async def close_connection(self, connection_id: str) -> dict[str, Any]:
        body: dict[str, Any] = await self.call(Call("DELETE", f"/connections/{_core.segment(connection_id)}"))
        return body

    async def close_user_connections(self, user_id: str) -> dict[str, Any]:
        body: dict[str, Any] = await self.call(Call("DELETE", f"/users/{_core.segment(user_id)}/connections"))
        return body

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncHub:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()
