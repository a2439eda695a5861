"""uvicorn's HTTP and WebSocket protocols, with the request limits API Gateway applies.

Left alone, a request whose request line is over 8 KB gets no answer at all on `/ws`:
uvicorn (httptools) parses it and hands the upgrade to the `websockets` handshake parser,
which refuses lines over 8,192 bytes (`websockets.http11.MAX_LINE_LENGTH`) and prepares a
414, but uvicorn's sans-I/O protocol only writes a response for a request it could parse,
so the client hangs. On REST paths httptools has no limit at all. API Gateway answers both.

So, before a request reaches the application:

- a request line over `MAX_REQUEST_LINE_BYTES` (8,192) → 414 URI Too Long;
- a request head (request line and headers) over `MAX_HEAD_BYTES` (10,240, API Gateway's
  limit on the request line and headers together) → 431 Request Header Fields Too Large;

each with a JSON `{"message"}` body and `Connection: close`, then the connection closes.
And should the WebSocket handshake parser still refuse a request (a header line over
8 KB, more than 128 headers), its own answer is written instead of nothing.

The WebSocket protocol also pins each socket's kernel send buffer
(`local.emulated.outbox.SOCKET_SEND_BUFFER_BYTES`) and offers the application a way to abort the
TCP connection (`local.emulated.outbox.ABORT_EXTENSION`), for a client that does not even read a
close frame.
"""

from __future__ import annotations

import contextlib
import json
import socket
from asyncio import BaseTransport
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from local.emulated import access_log
from local.emulated.outbox import ABORT_EXTENSION, SOCKET_SEND_BUFFER_BYTES

MAX_REQUEST_LINE_BYTES = 8192
# How long a socket closed for a protocol error (1009) waits for the client to close too.
LINGER_SECONDS = 2.0
MAX_HEAD_BYTES = 10240


class _TooLarge(Exception):
    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


class LimitedHttpProtocol(HttpToolsProtocol):
    """httptools' protocol, answering 414 / 431 for requests over API Gateway's limits."""

    _due: HTTPStatus | None = None  # set by a parser callback that found a limit exceeded
    _refused = False
    _in_head = False
    _head_bytes = 0  # the request line and the headers parsed so far
    _pending_bytes = 0  # bytes received while the head was still incomplete

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = self._pending_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if self._request_line_bytes() > MAX_REQUEST_LINE_BYTES:
            self._due = HTTPStatus.REQUEST_URI_TOO_LONG
            raise _TooLarge(self._due)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._head_bytes += len(name) + len(value) + 4  # "name: value\r\n"
        if self._request_line_bytes() + self._head_bytes > MAX_HEAD_BYTES:
            self._due = HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
            raise _TooLarge(self._due)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        super().data_received(data)
        # A header that never ends is over the limit too: refuse it rather than buffer it.
        # (Counting whole chunks may count the end of a pipelined request before it.)
        if self._in_head and not self._refused and not self.transport.is_closing():
            self._pending_bytes += len(data)
            if self._pending_bytes > MAX_HEAD_BYTES:
                self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers every parser error with 400, a callback's exception included.
        if self._due is not None:
            self._refuse(self._due)
        else:
            super().send_400_response(msg)

    def _request_line_bytes(self) -> int:
        # "GET /path?query HTTP/1.1": the line the WebSocket handshake parser measures.
        return len(self.parser.get_method() or b"") + 1 + len(self.url) + len(" HTTP/1.1")

    def _refuse(self, status: HTTPStatus) -> None:
        self._refused = True
        self.transport.write(_response(status))
        self.transport.close()
        limit = MAX_REQUEST_LINE_BYTES if status is HTTPStatus.REQUEST_URI_TOO_LONG else MAX_HEAD_BYTES
        access_log.refused(self.client[0] if self.client else "-", status.value, f"over {limit} bytes")


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    def connection_made(self, transport: BaseTransport) -> None:
        super().connection_made(transport)
        # A fixed kernel send buffer, so what a client that stops reading can hold up is
        # the outbound buffer's bound plus a known margin, not whatever Linux autotunes
        # (up to 4 MB on loopback).
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER_BYTES)

    _lingering = False  # failed with a close frame: draining what the client still sends

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # after a 1009 close: read and drop until the client closes too
        super().data_received(data)
        if not self.handshake_initiated and self.conn.handshake_exc is not None and not self.transport.is_closing():
            # The handshake parser refused the request: write the response it prepared
            # (414, 431) or a 400, and close; uvicorn would leave the client waiting.
            output = b"".join(self.conn.data_to_send())
            self.transport.write(output or _response(HTTPStatus.BAD_REQUEST))
            self.transport.close()

    def handle_parser_exception(self) -> None:
        """A frame the parser refused (over 128 KB: 1009): send the close frame, then linger.
        uvicorn closes the socket at once, and a close with the client's next frames still
        unread makes the kernel answer RST: the client sees a reset, not the close frame
        API Gateway sends. So shut down our side, keep reading (and dropping) until the
        client closes, and close for good after LINGER_SECONDS at most."""
        assert self.conn.close_sent is not None
        close = self.conn.close_sent
        self.queue.put_nowait({"type": "websocket.disconnect", "code": close.code, "reason": close.reason})
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self._lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if not self.close_sent:  # the upgrade goes on: the application runs next
            self.scope["extensions"][ABORT_EXTENSION] = {"abort": self.transport.abort}


def _response(status: HTTPStatus) -> bytes:
    body = json.dumps({"message": status.phrase}).encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + body
