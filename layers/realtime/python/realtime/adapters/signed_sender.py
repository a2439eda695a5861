"""A lean API Gateway Management API sender: SigV4-signed HTTP/1.1 over keep-alive sockets.

Why not boto3: `post_to_connection` costs 1 to 2 ms of CPU per call (parameter validation,
serialisation, event hooks, endpoint resolution, retry bookkeeping, response parsing):
minutes of CPU for a fan-out to 100,000 members. Why not urllib3 and botocore's
`SigV4Auth` on an `AWSRequest` either: measured on the same machine, a keep-alive urllib3
`urlopen` alone costs ~280 us of CPU (http.client's email-based header parser included) and
`SigV4Auth` ~90 us, together about the whole per-delivery budget (a fifth of boto3's call).
So this module does exactly what one call needs, ~35 us of CPU (~15 signing, ~15 the HTTP
exchange, the rest encoding the id and reading the credentials):

- the connection id is URL-encoded with botocore's own `percent_encode`, so the path is
  byte for byte the one boto3 sends (each id's encodings are kept: a fan-out sends to the
  same ids publish after publish);
- the request is signed with SigV4 for `execute-api` (botocore's algorithm, specialised to
  the three headers these requests carry, with the day's signing key cached); the tests
  check the result against botocore's `SigV4Auth` and against what boto3's own
  `apigatewaymanagementapi` client sends;
- credentials are read with `get_frozen_credentials()` on every call, so credentials
  refreshed behind our back are picked up;
- HTTP/1.1 goes over a pool of keep-alive sockets (TLS with botocore's CA bundle for
  https), with short connect and read timeouts and no retries: the domain
  (`realtime.domain.delivery.send_with_retry`) retries throttling and transient errors with
  its own backoff, and counts what still fails.
"""

from __future__ import annotations

import functools
import hmac
import json
import select
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from hashlib import sha256
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote, urlsplit

from botocore.credentials import ReadOnlyCredentials
from botocore.exceptions import NoCredentialsError
from botocore.utils import normalize_url_path, percent_encode

from realtime.errors import ConnectionGone, RetryableError, SendFailed

SERVICE = "execute-api"
_ALGORITHM = "AWS4-HMAC-SHA256"
_EMPTY_SHA256 = sha256(b"").hexdigest()
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_HEAD_BYTES = 64 * 1024
_MAX_BODY_BYTES = 1024 * 1024
_RECV_BYTES = 64 * 1024
_MAX_MESSAGE_CHARS = 120


class CredentialsSource(Protocol):
    """botocore `Credentials` or `RefreshableCredentials`."""

    def get_frozen_credentials(self) -> ReadOnlyCredentials: ...


class _SessionLike(Protocol):
    """A botocore or boto3 session."""

    def get_credentials(self) -> Any: ...


# A fan-out sends to the same connections publish after publish: their encodings are kept
# (urllib's quote was ~1/3 of a send's CPU). Bounded: ids are ~16 characters.
@functools.lru_cache(maxsize=8192)
def _label(connection_id: str) -> str:
    return percent_encode(connection_id)  # what boto3 does to the {connectionId} label


@functools.lru_cache(maxsize=8192)
def canonical_uri(path: str) -> str:
    """botocore's SigV4 canonical URI of a raw (percent-encoded) path."""
    return quote(normalize_url_path(path), safe="/~")


class HttpResponse(NamedTuple):
    status: int
    reason: str
    headers: dict[bytes, bytes]  # lower-case names
    body: bytes


class _BadResponse(Exception):
    """The peer's answer is not HTTP/1.x we can read, or the connection closed mid-answer."""


class _Identity:
    """What signing needs from one set of frozen credentials, prepared once."""

    __slots__ = ("access_key", "header_lines", "secret", "signed_headers", "signing_key", "token_canonical")

    def __init__(self, credentials: ReadOnlyCredentials) -> None:
        self.access_key = credentials.access_key
        self.secret = f"AWS4{credentials.secret_key}".encode()
        token = credentials.token
        # botocore signs every header it sends but User-Agent & co; ours are these three.
        self.signed_headers = "host;x-amz-date;x-amz-security-token" if token else "host;x-amz-date"
        self.token_canonical = f"x-amz-security-token:{' '.join(token.split())}\n" if token else ""
        self.header_lines = f"X-Amz-Security-Token: {token}\r\n" if token else ""
        self.signing_key: tuple[str, bytes] = ("", b"")

    def key_for(self, day: str, region: str) -> bytes:
        cached_day, key = self.signing_key  # one read: another thread may replace it
        if cached_day != day:
            key = hmac.digest(self.secret, day.encode(), "sha256")
            for part in (region, SERVICE, "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            self.signing_key = (day, key)
        return key


class _Connection:
    __slots__ = ("poller", "sock", "timeout")

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock = sock
        self.timeout = timeout
        self.poller = select.poll()
        self.poller.register(sock, select.POLLIN)

    def dropped(self) -> bool:
        """Whether this idle keep-alive connection can no longer carry a request: the server
        closed it, or wrote something nobody asked for."""
        try:
            if not self.poller.poll(0):
                return False
            if not isinstance(self.sock, ssl.SSLSocket):
                return True
            # Over TLS the waiting bytes may be TLS records only (TLS 1.3 session tickets
            # follow the handshake): read without blocking to tell them from data or EOF.
            self.sock.settimeout(0)
            try:
                self.sock.recv(1)  # b"": closed; data: unexpected; either way unusable
            except ssl.SSLWantReadError:
                return False
            finally:
                self.sock.settimeout(self.timeout)
        except OSError:
            pass
        return True

    def close(self) -> None:
        self.sock.close()


class SignedManagementApiSender:
    """`Sender` for the `@connections` API: `send` POSTs a frame, `close` DELETEs the
    connection. Thread-safe. `max_connections` idle keep-alive connections are kept: size
    it to the fan-out concurrency, so every delivery thread reuses a connection.

    `callback_url` is the stage URL (https://{api}.execute-api.{region}.amazonaws.com/{stage});
    `ca_bundle` defaults to the bundle botocore verifies AWS endpoints with; `clock` (seconds
    since the epoch) is for tests."""

    def __init__(
        self,
        callback_url: str,
        region: str,
        credentials: CredentialsSource,
        *,
        max_connections: int,
        connect_timeout: float = 2.0,
        read_timeout: float = 3.0,
        ca_bundle: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urlsplit(callback_url.rstrip("/"))
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise ValueError("callback_url must be an http(s) URL with a host")
        if parts.username is not None or parts.query or parts.fragment:
            raise ValueError("callback_url must not carry credentials, a query or a fragment")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._region = region
        self._credentials = credentials
        self._clock = clock
        self._hostname = parts.hostname  # lower-case, no brackets
        self._port = parts.port or _DEFAULT_PORTS[parts.scheme]
        # Sent and signed as is; botocore derives the same value from the URL: lower-case,
        # with the port only when it is not the scheme's default.
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        self._host = host if self._port == _DEFAULT_PORTS[parts.scheme] else f"{host}:{self._port}"
        self._path_prefix = f"{parts.path}/@connections/"
        self._tls: ssl.SSLContext | None = None
        if parts.scheme == "https":
            from botocore.httpsession import get_cert_path  # the CA bundle boto3 trusts

            self._tls = ssl.create_default_context(cafile=ca_bundle or get_cert_path(True))
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_idle = max_connections
        self._idle: deque[_Connection] = deque()  # append/pop are atomic: no lock needed
        self._identity: tuple[ReadOnlyCredentials | None, _Identity | None] = (None, None)
        self._timestamp: tuple[int, str, str] = (-1, "", "")

    @classmethod
    def from_session(
        cls,
        callback_url: str,
        region: str,
        max_connections: int,
        *,
        session: _SessionLike | None = None,
        connect_timeout: float = 2.0,
        read_timeout: float = 3.0,
        ca_bundle: str | None = None,
    ) -> SignedManagementApiSender:
        """Credentials from a botocore or boto3 session; the default chain when omitted (in
        Lambda: the function role's credentials, from the environment)."""
        if session is None:
            import botocore.session

            session = botocore.session.get_session()
        credentials = session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        return cls(
            callback_url,
            region,
            credentials,
            max_connections=max_connections,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            ca_bundle=ca_bundle,
        )

    # -- the Sender port

    def send(self, connection_id: str, payload: bytes) -> None:
        self._call("POST", connection_id, payload)

    def close(self, connection_id: str) -> None:
        """Ask API Gateway to close the connection (it then invokes $disconnect)."""
        self._call("DELETE", connection_id, b"")

    def open_connections(self, count: int) -> int:
        """Open up to `count` keep-alive connections ahead of the first send (for example
        during a Lambda's init phase), at most `max_connections` idle; return how many
        were opened. Connection errors propagate (as RetryableError)."""
        opened = 0
        while opened < count and len(self._idle) < self._max_idle:
            try:
                connection = self._connect()
            except OSError as exc:
                raise RetryableError(f"{type(exc).__name__}: cannot connect") from exc
            self._idle.append(connection)
            opened += 1
        return opened

    def shutdown(self) -> None:
        """Close the idle connections (ones in use are closed when they come back)."""
        self._max_idle = 0
        while self._idle:
            try:
                self._idle.pop().close()
            except IndexError:  # pragma: no cover - emptied by another thread
                break

    # -- one call

    def _call(self, method: str, connection_id: str, body: bytes) -> None:
        path = self._path_prefix + _label(connection_id)
        try:
            response = self._exchange(self._request(method, path, body))
        except (OSError, _BadResponse) as exc:  # timeouts, resets, refused, TLS, garbage
            raise translate(connection_id, exc) from exc
        if not 200 <= response.status < 300:
            raise translate(connection_id, response)

    def _request(self, method: str, path: str, body: bytes) -> bytes:
        """The request, signed: SigV4 over method, path, host, date, token and body."""
        credentials = self._credentials.get_frozen_credentials()
        known, identity = self._identity  # one read: another thread may replace it
        if identity is None or known != credentials:
            identity = _Identity(credentials)
            self._identity = (credentials, identity)
        second = int(self._clock())
        cached_second, timestamp, day = self._timestamp
        if cached_second != second:
            timestamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second))
            day = timestamp[:8]
            self._timestamp = (second, timestamp, day)
        scope = f"{day}/{self._region}/{SERVICE}/aws4_request"
        canonical_request = (
            f"{method}\n{canonical_uri(path)}\n\n"
            f"host:{self._host}\nx-amz-date:{timestamp}\n{identity.token_canonical}\n"
            f"{identity.signed_headers}\n{sha256(body).hexdigest() if body else _EMPTY_SHA256}"
        )
        string_to_sign = f"{_ALGORITHM}\n{timestamp}\n{scope}\n{sha256(canonical_request.encode()).hexdigest()}"
        signature = hmac.digest(identity.key_for(day, self._region), string_to_sign.encode(), "sha256").hex()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\nX-Amz-Date: {timestamp}\r\n{identity.header_lines}"
            f"Authorization: {_ALGORITHM} Credential={identity.access_key}/{scope}, "
            f"SignedHeaders={identity.signed_headers}, Signature={signature}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    # -- HTTP/1.1 over the pool

    def _exchange(self, request: bytes) -> HttpResponse:
        connection = self._checkout()
        try:
            connection.sock.sendall(request)
            response, reusable = _read_response(connection.sock)
        except BaseException:
            connection.close()
            raise
        if reusable and len(self._idle) < self._max_idle:
            self._idle.append(connection)
        else:
            connection.close()
        return response

    def _checkout(self) -> _Connection:
        while True:
            try:
                connection = self._idle.pop()  # the most recently used: the least likely stale
            except IndexError:
                return self._connect()
            if not connection.dropped():
                return connection
            connection.close()

    def _connect(self) -> _Connection:
        sock = socket.create_connection((self._hostname, self._port), timeout=self._connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._hostname)
            sock.settimeout(self._read_timeout)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock, self._read_timeout)


def translate(connection_id: str, outcome: HttpResponse | BaseException) -> Exception:
    """The domain error for a failed call: an HTTP answer other than 2xx, or a transport
    error (timeout, refused or reset connection, TLS failure, unreadable answer). Messages
    name the status and AWS's error type, never the payload or the credentials."""
    if isinstance(outcome, BaseException):
        return RetryableError(f"{type(outcome).__name__}: retry later")
    status = outcome.status
    if status == 410:
        return ConnectionGone(connection_id)
    error_type = outcome.headers.get(b"x-amzn-errortype", b"").decode("latin-1").partition(":")[0]
    if status == 429 or status >= 500:
        return RetryableError(f"{status} {error_type or outcome.reason}: retry later")
    message = _first_line(outcome.body)
    return SendFailed(f"{status} {error_type or outcome.reason}" + (f": {message}" if message else ""))


def _first_line(body: bytes) -> str:
    """The first line of AWS's error message, shortened: after it, a signature mismatch
    spells out the canonical request, security token included."""
    try:
        message = json.loads(body).get("message")
    except (ValueError, AttributeError):
        return ""
    return str(message or "").split("\n", 1)[0][:_MAX_MESSAGE_CHARS]


def _read_response(sock: socket.socket) -> tuple[HttpResponse, bool]:
    """One HTTP/1.x response; also whether the connection can carry the next request."""
    buffer = b""
    while True:  # skip interim 1xx answers
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            if len(buffer) > _MAX_HEAD_BYTES:
                raise _BadResponse("response head too large")
            buffer += _recv(sock)
        lines = buffer[:end].split(b"\r\n")
        buffer = buffer[end + 4 :]
        version, _, rest = lines[0].partition(b" ")
        code, _, reason = rest.partition(b" ")
        if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise _BadResponse("not an HTTP/1.x response")
        status = int(code)
        if status >= 200:
            break
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    reusable = version == b"HTTP/1.1" and b"close" not in headers.get(b"connection", b"").lower()
    if status in (204, 304):
        body = b""
    elif b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        body, buffer = _read_chunked(sock, buffer)
    elif (length := headers.get(b"content-length")) is not None:
        if not length.isdigit() or int(length) > _MAX_BODY_BYTES:
            raise _BadResponse("bad Content-Length")
        size = int(length)
        while len(buffer) < size:
            buffer += _recv(sock)
        body, buffer = buffer[:size], buffer[size:]
    else:  # the body runs to the end of the connection
        reusable = False
        chunks = [buffer]
        while chunk := sock.recv(_RECV_BYTES):
            chunks.append(chunk)
            if sum(map(len, chunks)) > _MAX_BODY_BYTES:
                raise _BadResponse("response body too large")
        body, buffer = b"".join(chunks), b""
    if buffer:  # bytes nobody asked for: never reuse such a connection
        reusable = False
    return HttpResponse(status, reason.decode("latin-1"), headers, body), reusable


def _read_chunked(sock: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    body = b""
    while True:
        while (end := buffer.find(b"\r\n")) < 0:
            buffer += _recv(sock)
        size_field = buffer[:end].split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise _BadResponse("bad chunk size") from None
        buffer = buffer[end + 2 :]
        if size == 0:  # the last chunk, then optional trailers and an empty line
            while not buffer.startswith(b"\r\n") and (end := buffer.find(b"\r\n\r\n")) < 0:
                buffer += _recv(sock)
            return body, buffer[2:] if buffer.startswith(b"\r\n") else buffer[end + 4 :]
        if len(body) + size > _MAX_BODY_BYTES:
            raise _BadResponse("response body too large")
        while len(buffer) < size + 2:
            buffer += _recv(sock)
        body += buffer[:size]
        buffer = buffer[size + 2 :]


def _recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(_RECV_BYTES)
    if not chunk:
        raise _BadResponse("connection closed before the response ended")
    return chunk
