"""uvicorn's WebSocket protocol, with what the outbound buffer (local/outbox.py) needs:

- each socket's kernel send buffer is pinned (`SOCKET_SEND_BUFFER_BYTES`), so what a
  client that stops reading can hold up is the outbound buffer's bound plus a known
  margin, not whatever Linux autotunes (up to 4 MB on loopback);
- the application can abort the TCP connection (`ABORT_EXTENSION` in the ASGI scope), for
  a client that does not even read a close frame: ASGI itself can only ask for one.
"""

from __future__ import annotations

import contextlib
import socket
from asyncio import BaseTransport

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from local.outbox import ABORT_EXTENSION, SOCKET_SEND_BUFFER_BYTES


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    def connection_made(self, transport: BaseTransport) -> None:
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER_BYTES)

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if not self.close_sent:  # the upgrade goes on: the application runs next
            self.scope["extensions"][ABORT_EXTENSION] = {"abort": self.transport.abort}
