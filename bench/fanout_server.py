"""A stand-in for API Gateway's Management API (`POST|DELETE {stage}/@connections/{id}`):
an asyncio HTTP/1.1 keep-alive server that answers every request after a fixed delay.

The delay is a timer, not a blocked thread, so thousands of requests wait at once and the
server costs a few tens of microseconds of CPU per request. It runs in its own process
(`ServerProcess`), so its CPU is measured apart from the workers', and counts what it
received (requests, distinct connection ids, a digest of the ids) so the benchmark can
check that every member got its frame exactly once. Parsing is minimal on purpose: the
request line, Content-Length, the body; enough for urllib3 and botocore, nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import multiprocessing
import socket
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import unquote

STAGE = "/bench"
CONNECTIONS_PATH = f"{STAGE}/@connections/"
_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 0\r\n\r\n"
_GONE_BODY = b'{"message":"Gone"}'
_GONE = (
    b"HTTP/1.1 410 Gone\r\nContent-Type: application/json\r\nx-amzn-ErrorType: GoneException\r\n"
    + f"Content-Length: {len(_GONE_BODY)}\r\n\r\n".encode()
    + _GONE_BODY
)
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
_BAD = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
_MAX_HEAD = 16 * 1024


def is_gone(connection_id: str, gone_share: float) -> bool:
    """Whether the server answers 410 for this id: a fixed share of ids, chosen by a hash
    so the benchmark can count the expected 410s without asking the server."""
    return gone_share > 0 and zlib.crc32(connection_id.encode()) % 10_000 < gone_share * 10_000


def ids_digest(connection_ids: Any) -> str:
    """Order-free fingerprint of a collection of distinct ids."""
    digest = hashlib.sha256()
    for connection_id in sorted(connection_ids):
        digest.update(connection_id.encode() + b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class ServerStats:
    requests: int  # POSTs to @connections since the last reset (warm-up ids excluded)
    distinct_ids: int
    max_per_id: int
    gone: int  # 410s answered
    ids_digest: str
    cpu_seconds: float  # the server process's CPU since the last reset
    connections_opened: int


class _Counters:
    def __init__(self, gone_share: float) -> None:
        self.gone_share = gone_share
        self.reset()

    def reset(self) -> None:
        self.per_id: Counter[str] = Counter()
        self.gone = 0
        self.connections_opened = 0
        self.cpu_mark = time.process_time()

    def stats(self) -> ServerStats:
        cpu = time.process_time() - self.cpu_mark
        return ServerStats(
            requests=sum(self.per_id.values()),
            distinct_ids=len(self.per_id),
            max_per_id=max(self.per_id.values(), default=0),
            gone=self.gone,
            ids_digest=ids_digest(self.per_id),
            cpu_seconds=round(cpu, 4),
            connections_opened=self.connections_opened,
        )

    def answer(self, method: bytes, target: bytes) -> bytes:
        path = target.decode("latin-1")
        if not path.startswith(CONNECTIONS_PATH):
            return _NOT_FOUND
        connection_id = unquote(path[len(CONNECTIONS_PATH) :])
        if method != b"POST" or connection_id.startswith("warmup-"):
            return _OK
        self.per_id[connection_id] += 1
        if is_gone(connection_id, self.gone_share):
            self.gone += 1
            return _GONE
        return _OK


class _Http(asyncio.Protocol):
    def __init__(self, counters: _Counters, latency: float) -> None:
        self._counters = counters
        self._latency = latency
        self._buffer = b""
        self._transport: asyncio.WriteTransport | None = None
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]  # a stream transport: it writes
        self._counters.connections_opened += 1
        with contextlib.suppress(OSError):
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        while buffer:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > _MAX_HEAD:
                    self._reply(_BAD, close=True)
                    return
                break
            head = buffer[:end]
            length = 0
            marker = head.lower().find(b"\r\ncontent-length:")
            if marker >= 0:
                value_end = head.find(b"\r\n", marker + 17)
                try:
                    length = int(head[marker + 17 : value_end if value_end >= 0 else len(head)])
                except ValueError:
                    self._reply(_BAD, close=True)
                    return
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            method, _, rest = head.partition(b" ")
            target = rest.partition(b" ")[0]
            # One request in flight per connection (urllib3 never pipelines), and every
            # answer waits the same delay, so answers leave in request order.
            self._loop.call_later(self._latency, self._reply, self._counters.answer(method, target))
        self._buffer = buffer

    def _reply(self, response: bytes, close: bool = False) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(response)
            if close:
                self._transport.close()


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # in the lock file via uvicorn[standard]; the server is faster with it

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover - plain asyncio works too, just costs more CPU
        return asyncio.new_event_loop()


def serve(control: Connection, latency: float, gone_share: float) -> None:
    """Process entry point: serve on 127.0.0.1 (a free port, sent back through `control`),
    answer control commands ("reset", "stats", "stop") until told to stop."""
    loop = _new_loop()
    asyncio.set_event_loop(loop)
    counters = _Counters(gone_share)
    stopped = loop.create_future()

    def on_command() -> None:
        try:
            command = control.recv()
        except EOFError:  # the parent went away
            command = "stop"
        if command == "reset":
            counters.reset()
            control.send(None)
        elif command == "stats":
            control.send(counters.stats())
        elif not stopped.done():
            stopped.set_result(None)

    async def main() -> None:
        server = await loop.create_server(
            lambda: _Http(counters, latency), "127.0.0.1", 0, backlog=4096, reuse_address=True
        )
        port = server.sockets[0].getsockname()[1]
        loop.add_reader(control.fileno(), on_command)
        control.send(port)
        await stopped
        loop.remove_reader(control.fileno())
        server.close()

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


class ServerProcess:
    """The simulated Management API in a child process."""

    def __init__(self, latency: float, gone_share: float = 0.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._control, child = context.Pipe()
        self._process = context.Process(
            target=serve, args=(child, latency, gone_share), name="fanout-server", daemon=True
        )
        self._process.start()
        child.close()
        if not self._control.poll(30):
            self.stop()
            raise RuntimeError("the simulated Management API did not start")
        self.port: int = self._control.recv()
        self.callback_url = f"http://127.0.0.1:{self.port}{STAGE}"

    def _ask(self, command: str, timeout: float = 60) -> Any:
        self._control.send(command)
        if not self._control.poll(timeout):
            raise RuntimeError(f"the simulated Management API did not answer {command!r}")
        return self._control.recv()

    def reset(self) -> None:
        self._ask("reset")

    def stats(self) -> ServerStats:
        stats: ServerStats = self._ask("stats")
        return stats

    def stop(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(OSError):
                self._control.send("stop")
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._control.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
