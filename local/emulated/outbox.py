"""A connection's outbound buffer: what `POST @connections/{id}` writes into.

API Gateway does not make PostToConnection wait for the client to read: it takes the
message into the connection's outbound buffer and answers 200 at once, and when that
buffer is full it answers 429 `LimitExceededException` ("the WebSocket client side buffer
is full"). The local stack does the same: `Outbox.offer` queues a frame (or refuses it)
without awaiting anything, and one writer task per connection drains the queue onto the
socket in order, waiting for the client as long as it has to.

Bounds. AWS does not document the size of that buffer. Here it holds at most
`MAX_QUEUED_BYTES` (1 MiB: eight 128 KB messages, the largest API Gateway accepts) and at
most `MAX_QUEUED_FRAMES` (1,000) frames not yet handed to the socket. The socket's own
buffers come on top, as the network's do in AWS: uvicorn's write buffer (64 KB, plus the
frame being written) and the kernel's send buffer, pinned at `SOCKET_SEND_BUFFER_BYTES`
(64 KB, which Linux doubles) so the total does not depend on the machine's TCP autotuning
— about 1.2 MiB before a client that reads nothing gets its first 429. A frame is
accepted when both bounds still hold with it; the first frame of an empty queue always is
(the 128 KB message limit is checked before: 413).

Closing. `close(flush=True)` (DeleteConnection, shutdown) stops accepting (410 from then
on), sends what was accepted, then the close frame; a client that does not read for
`CLOSE_FLUSH_SECONDS` has its TCP connection aborted instead. `close(flush=False)` (a
connection that vanishes) drops what is queued. A client that goes away loses what was
still queued for it, as in AWS: the 200 only ever meant "accepted".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from enum import Enum

from starlette.websockets import WebSocket, WebSocketDisconnect

logger = logging.getLogger("local.websocket")

MAX_QUEUED_BYTES = 1024 * 1024
MAX_QUEUED_FRAMES = 1000
CLOSE_FLUSH_SECONDS = 2.0
SOCKET_SEND_BUFFER_BYTES = 64 * 1024
# The ASGI scope extension through which local/emulated/protocols.py lets us abort the TCP
# connection (ASGI itself can only ask for a close frame, which a full socket never sends).
ABORT_EXTENSION = "local.abort"


class Offer(Enum):
    ACCEPTED = "accepted"  # 200
    FULL = "full"  # 429 LimitExceededException
    CLOSED = "closed"  # 410 GoneException: closing, closed, or the client is gone


class Outbox:
    def __init__(
        self,
        websocket: WebSocket,
        *,
        on_sent: Callable[[], None] = lambda: None,
        max_bytes: int = MAX_QUEUED_BYTES,
        max_frames: int = MAX_QUEUED_FRAMES,
    ) -> None:
        self._websocket = websocket
        self._on_sent = on_sent
        self._max_bytes = max_bytes
        self._max_frames = max_frames
        self._frames: deque[bytes] = deque()
        self._bytes = 0
        self._wakeup = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._broken = False  # a send failed: the client is gone
        self._writer = asyncio.get_running_loop().create_task(self._write())

    def offer(self, payload: bytes) -> Offer:
        if self._close is not None or self._broken:
            return Offer.CLOSED
        if self._frames and (len(self._frames) >= self._max_frames or self._bytes + len(payload) > self._max_bytes):
            return Offer.FULL
        self._frames.append(payload)
        self._bytes += len(payload)
        self._wakeup.set()
        return Offer.ACCEPTED

    async def close(self, code: int, reason: str, *, flush: bool) -> None:
        """Send the close frame (after the queued frames when `flush`); return once it is
        sent, or the connection aborted because the client would not take it."""
        if self._close is None:
            self._close = (code, reason)
            if not flush:
                self._drop()
            self._wakeup.set()
        # asyncio.wait neither raises what the writer raised nor cancels it on a timeout.
        done, _ = await asyncio.wait({self._writer}, timeout=CLOSE_FLUSH_SECONDS)
        if not done:
            logger.warning(
                "the client is not reading: %d queued frame(s) dropped and its connection aborted", len(self._frames)
            )
            self._writer.cancel()
            self._drop()
            self._abort()

    def discard(self) -> None:
        """The socket is closed: stop writing and forget what is queued."""
        self._broken = True
        self._drop()
        self._writer.cancel()

    async def _write(self) -> None:
        websocket = self._websocket
        while True:
            while not self._frames and self._close is None:
                self._wakeup.clear()
                await self._wakeup.wait()
            if not self._frames:
                break
            # Counted until the socket takes it: that is when the client's buffer has room.
            payload = self._frames[0]
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            try:
                if text is None:
                    await websocket.send_bytes(payload)  # API Gateway sends UTF-8 as text frames
                else:
                    await websocket.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError):  # closed under us
                self._broken = True
                self._drop()
                return
            self._frames.popleft()
            self._bytes -= len(payload)
            self._on_sent()
        assert self._close is not None
        # When the client went first, its disconnect is already on its way.
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await websocket.close(*self._close)

    def _drop(self) -> None:
        self._frames.clear()
        self._bytes = 0

    def _abort(self) -> None:
        abort = (self._websocket.scope.get("extensions") or {}).get(ABORT_EXTENSION, {}).get("abort")
        if callable(abort):
            abort()
