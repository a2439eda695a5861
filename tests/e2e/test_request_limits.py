"""Requests over API Gateway's size limits get an answer, never silence: a request line
over 8,192 bytes is answered 414, a request head over 10,240 bytes 431, on the WebSocket
upgrade as on the REST API (local/emulated/protocols.py)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from local.runner.settings import WEBSOCKET_PATH
from tests.e2e.support import TIMEOUT, bearer, token
from tests.local_deployment import ObservedDeployment

pytestmark = pytest.mark.e2e

UPGRADE_HEADERS = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
)


async def exchange(stack: ObservedDeployment, head: str) -> tuple[int, dict[str, str], bytes]:
    """Send a raw request head; return the answer's status, headers and body, once the
    server has closed the connection (within TIMEOUT, or the test fails)."""
    reader, writer = await asyncio.open_connection(stack.host, stack.port)
    try:
        writer.write(head.encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), TIMEOUT)  # to EOF: the server closes
    finally:
        writer.close()
    status_head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = status_head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split(" ")[1]), headers, body


def request_head(path: str, extra_headers: str = "", *, upgrade: bool = False) -> str:
    return f"GET {path} HTTP/1.1\r\nHost: local\r\n{UPGRADE_HEADERS if upgrade else ''}{extra_headers}\r\n"


@pytest.mark.parametrize("upgrade", [True, False], ids=["websocket", "rest"])
async def test_a_9_kb_query_string_is_answered_414_and_closed(stack: ObservedDeployment, upgrade: bool) -> None:
    path = (WEBSOCKET_PATH if upgrade else "/api/admin/realtime/status") + f"?token={token()}&pad={'a' * 9000}"
    status, headers, body = await exchange(stack, request_head(path, upgrade=upgrade))
    assert status == 414
    assert headers["connection"] == "close"
    assert json.loads(body) == {"message": "Request-URI Too Long"}


@pytest.mark.parametrize("upgrade", [True, False], ids=["websocket", "rest"])
async def test_oversized_headers_are_answered_431(stack: ObservedDeployment, upgrade: bool) -> None:
    path = WEBSOCKET_PATH if upgrade else "/api/admin/realtime/status"
    status, _, body = await exchange(stack, request_head(path, f"X-Padding: {'p' * 11_000}\r\n", upgrade=upgrade))
    assert status == 431
    assert json.loads(body) == {"message": "Request Header Fields Too Large"}


async def test_a_header_line_the_handshake_parser_refuses_is_answered_431(stack: ObservedDeployment) -> None:
    # Under the head limit, over the 8 KB per line of the WebSocket handshake parser.
    status, _, _ = await exchange(stack, request_head(WEBSOCKET_PATH, f"X-Padding: {'p' * 9000}\r\n", upgrade=True))
    assert status == 431


async def test_a_header_that_never_ends_is_answered_431(stack: ObservedDeployment) -> None:
    status, _, _ = await exchange(stack, f"GET /api/admin/realtime/status HTTP/1.1\r\nX-Endless: {'e' * 20_000}")
    assert status == 431


async def test_a_websocket_client_sees_the_status_instead_of_waiting(stack: ObservedDeployment) -> None:
    url = f"{stack.ws_url}?token={token()}&pad={'a' * 9000}"
    with pytest.raises(InvalidStatus) as refused:
        await connect(url, open_timeout=TIMEOUT)
    assert refused.value.response.status_code == 414


async def test_requests_within_the_limits_are_served(stack: ObservedDeployment) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        response = await http.get(f"{stack.rest_url}/status", params={"pad": "a" * 7000}, headers=bearer(token()))
    assert response.status_code == 200, response.text
    url = f"{stack.ws_url}?token={token()}&pad={'a' * 7000}"
    async with connect(url, open_timeout=TIMEOUT) as client:
        await client.send(json.dumps({"action": "ping"}))
        assert json.loads(await asyncio.wait_for(client.recv(), TIMEOUT))["type"] == "Pong"
