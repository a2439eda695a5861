"""A dashboard's WebSocket for scripts, tests and benchmarks: JSON in and out, and every
wait bounded, so a missing frame fails fast instead of hanging."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

DEFAULT_TIMEOUT = 5.0


def socket_url(ws_url: str, token: str | None) -> str:
    return f"{ws_url}?{urlencode({'token': token})}" if token else ws_url


class RealtimeClient:
    def __init__(self, connection: ClientConnection, user_agent: str | None = None) -> None:
        self.connection = connection
        self.user_agent = user_agent

    @classmethod
    async def open(
        cls,
        ws_url: str,
        token: str | None,
        *,
        user_agent: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> RealtimeClient:
        """Open a socket; raises websockets.exceptions.InvalidStatus when refused."""
        options: dict[str, Any] = {"open_timeout": timeout, "additional_headers": headers or {}}
        if user_agent is not None:
            options["user_agent_header"] = user_agent
        return cls(await connect(socket_url(ws_url, token), **options), user_agent)

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        frame = json.dumps(message, separators=(",", ":")) if isinstance(message, dict) else message
        await self.connection.send(frame)

    async def receive(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.connection.recv(), timeout)
        message = json.loads(frame)
        if not isinstance(message, dict):
            raise ValueError(f"expected a JSON object, got {frame!r:.200}")
        return message

    async def request(self, message: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Send an action and return the next frame (its reply, when nothing else is due)."""
        await self.send(message)
        return await self.receive(timeout)

    async def expect_silence(self, within: float = 0.3) -> None:
        """Raise AssertionError if a frame arrives within `within` seconds."""
        try:
            frame = await asyncio.wait_for(self.connection.recv(), within)
        except TimeoutError:
            return
        raise AssertionError(f"expected no frame, got {frame!r:.200}")

    async def wait_closed(self, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Wait until the server closes the socket; return the close code it sent."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self.connection.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None

    async def close(self) -> None:
        await self.connection.close()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame, like a crashed browser tab."""
        self.connection.transport.abort()

    async def __aenter__(self) -> RealtimeClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()
