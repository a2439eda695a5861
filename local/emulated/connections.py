"""The open WebSockets, by connection id. Changed only on the server's event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.websockets import WebSocket

from local.emulated.gateway_requests import Session, now_ms
from local.emulated.ids import gateway_id
from local.emulated.outbox import Offer, Outbox


class LiveConnection:
    """One open socket: its session, and the outbound buffer its frames go through."""

    def __init__(self, session: Session, websocket: WebSocket) -> None:
        self.session = session
        self.websocket = websocket
        self.last_active_ms = now_ms()
        # Set when the gateway itself closes the socket (DeleteConnection, shutdown, a fault).
        self.closed_by_gateway: tuple[int, str] | None = None
        # Dropped without $disconnect: what AWS leaves behind when that invocation is lost.
        self.vanished = False
        self._outbox = Outbox(websocket, on_sent=self.touch)

    @property
    def connection_id(self) -> str:
        return self.session.connection_id

    def touch(self) -> None:
        self.last_active_ms = now_ms()

    def send(self, payload: bytes) -> Offer:
        """Queue one frame (text when the payload is UTF-8, as API Gateway sends it); never
        waits for the client. FULL when its buffer is full, CLOSED when it is closing."""
        if self.closed_by_gateway is not None:
            return Offer.CLOSED
        return self._outbox.offer(payload)

    async def close(self, code: int, reason: str, *, flush: bool = True) -> None:
        """Close the socket: after the frames already accepted when `flush` (a normal
        close), dropping them otherwise (a connection lost)."""
        if self.closed_by_gateway is None:
            self.closed_by_gateway = (code, reason)
        await self._outbox.close(code, reason, flush=flush)

    def closed(self) -> None:
        """The socket is closed (by either side): nothing more can be written."""
        self._outbox.discard()


@dataclass(frozen=True)
class ConnectionInfo:
    """A read-only view of one connection, for tests and tooling."""

    connection_id: str
    source_ip: str
    user_agent: str | None
    connected_at_ms: int
    last_active_ms: int
    user_id: str | None


class ConnectionRegistry:
    def __init__(self) -> None:
        self._live: dict[str, LiveConnection] = {}
        # Never reuse an id: DynamoDB may still hold a closed connection's items.
        self._issued: set[str] = set()
        # Connection ids of the WebSocket sessions still running (handshake to $disconnect).
        self.sessions: set[str] = set()

    def new_connection_id(self) -> str:
        while (connection_id := gateway_id()) in self._issued:
            pass
        self._issued.add(connection_id)
        return connection_id

    def add(self, connection: LiveConnection) -> None:
        self._live[connection.connection_id] = connection

    def get(self, connection_id: str) -> LiveConnection | None:
        return self._live.get(connection_id)

    def remove(self, connection_id: str) -> None:
        self._live.pop(connection_id, None)

    def snapshot(self) -> list[ConnectionInfo]:
        return [
            ConnectionInfo(
                connection_id=live.connection_id,
                source_ip=live.session.source_ip,
                user_agent=live.session.user_agent,
                connected_at_ms=live.session.connected_at_ms,
                last_active_ms=live.last_active_ms,
                user_id=live.session.authorizer.get("userId"),
            )
            for live in self._live.values()
        ]

    async def vanish(self, connection_id: str) -> bool:
        """Forget a connection and drop its socket without invoking $disconnect."""
        live = self._live.pop(connection_id, None)
        if live is None:
            return False
        live.vanished = True
        await live.close(1001, "Going away", flush=False)
        return True

    async def close_all(self, code: int, reason: str) -> None:
        await asyncio.gather(*(live.close(code, reason) for live in list(self._live.values())))
