"""SignedManagementApiSender: what it sends is what boto3 sends (path, body, signature),
and every answer or transport failure becomes the domain error the fan-out expects. Over
real HTTP, against small servers on 127.0.0.1."""

from __future__ import annotations

import calendar
import contextlib
import datetime
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import NoCredentialsError
from botocore.utils import percent_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime.adapters.clock import SystemClock
from realtime.adapters.signed_sender import SignedManagementApiSender
from realtime.domain.delivery import fan_out
from realtime.errors import ConnectionGone, RetryableError, SendFailed

REGION = "eu-west-1"
FROZEN = datetime.datetime(2026, 3, 14, 15, 9, 26)  # naive UTC, like botocore's clock
PAYLOAD = b'{"type":"AnalyticsUpdate","data":{"secret-payload-marker":1}}'
TOKEN = "FwoGZXIvYXdzEJr//////////wEaDN0tT0K3N+session/token=="
# What API Gateway ids look like, plus characters that must be percent-encoded.
TRICKY_IDS = ["L0SM9cOFvHcCIhw=", "a+b/c=", "x y~z_.-", "é=ünï", "..", "%41", "Ab:C@d!*'()"]


# -- a capturing HTTP/1.1 server


@dataclass
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunked: bool = False


class CaptureServer:
    """Records every request; answers with `answer(request)` (200 by default); over TLS
    when given a server context."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[Captured] = []
        self.connections = 0
        self.answer: Callable[[Captured], Answer] = lambda _request: Answer()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive

            def setup(self) -> None:
                super().setup()
                server.connections += 1

            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Captured(self.command, self.path, dict(self.headers.items()), body)
                server.requests.append(request)
                answer = server.answer(request)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for offset in range(0, len(answer.body), 7):
                        piece = answer.body[offset : offset + 7]
                        self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)

            do_POST = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.port = self._http.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/prod"
        if tls is not None:
            self._http.socket = tls.wrap_socket(self._http.socket, server_side=True)
            self.url = f"https://localhost:{self.port}/prod"
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


class RawServer:
    """Hands every accepted socket to `behave(sock)` in a thread (for misbehaving peers)."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/prod"
        self._behave = behave
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                sock, _ = self._listener.accept()
                self._sockets.append(sock)
                threading.Thread(target=self._behave, args=(sock,), daemon=True).start()

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()


@pytest.fixture
def server() -> Iterator[CaptureServer]:
    capture = CaptureServer()
    yield capture
    capture.close()


def make_sender(url: str, credentials: Any = None, **options: Any) -> SignedManagementApiSender:
    options.setdefault("max_connections", 4)
    return SignedManagementApiSender(url, REGION, credentials or Credentials("AKID", "SECRET", TOKEN), **options)


def frozen_sender(url: str, credentials: Any = None) -> SignedManagementApiSender:
    return make_sender(url, credentials, clock=lambda: float(calendar.timegm(FROZEN.timetuple())))


# -- what boto3 sends


def boto3_request(url: str, method: str, connection_id: str, token: str | None = TOKEN) -> Any:
    """The request boto3's own client prepares for the same call, at the same frozen time,
    caught just before it would go on the wire."""
    session = boto3.Session(
        aws_access_key_id="AKID", aws_secret_access_key="SECRET", aws_session_token=token, region_name=REGION
    )
    client = session.client("apigatewaymanagementapi", endpoint_url=url)
    sent: list[Any] = []

    class _Raw:
        def stream(self, **_: Any) -> Iterator[bytes]:
            yield b""

    def capture(request: Any, **_: Any) -> AWSResponse:
        sent.append(request)
        return AWSResponse(request.url, 200, {}, _Raw())

    client.meta.events.register("before-send", capture)
    with mock.patch("botocore.auth.get_current_datetime", return_value=FROZEN):
        if method == "POST":
            client.post_to_connection(ConnectionId=connection_id, Data=PAYLOAD)
        else:
            client.delete_connection(ConnectionId=connection_id)
    return sent[0]


def header(request: Any, name: str) -> str | None:
    value = request.headers.get(name)
    return value.decode() if isinstance(value, bytes) else value


@pytest.mark.parametrize("connection_id", TRICKY_IDS)
@pytest.mark.parametrize("method", ["POST", "DELETE"])
@pytest.mark.parametrize("token", [TOKEN, None])
def test_sends_exactly_what_boto3_sends(
    server: CaptureServer, connection_id: str, method: str, token: str | None
) -> None:
    sender = frozen_sender(server.url, Credentials("AKID", "SECRET", token))
    if method == "POST":
        sender.send(connection_id, PAYLOAD)
    else:
        sender.close(connection_id)
    ours = server.requests[-1]
    theirs = boto3_request(server.url, method, connection_id, token)

    assert ours.method == theirs.method == method
    assert f"http://127.0.0.1:{server.port}{ours.path}" == theirs.url
    assert ours.body == (theirs.body or b"")
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
        assert ours.headers.get(name) == header(theirs, name), name
    assert ours.headers["Host"] == f"127.0.0.1:{server.port}"
    assert ours.headers["Content-Length"] == str(len(ours.body))


def test_signs_for_a_real_api_gateway_host_like_boto3() -> None:
    """The default-port https URL: Host without the port, the stage in the path."""
    url = "https://AbC123xyz.execute-api.eu-west-1.amazonaws.com/production/"
    sender = frozen_sender(url)
    wire = sender._request("POST", "/production/@connections/L0SM9cOFvHcCIhw%3D", PAYLOAD)
    head, _, body = wire.partition(b"\r\n\r\n")
    request_line, *lines = head.decode().split("\r\n")
    ours = dict(line.split(": ", 1) for line in lines)
    theirs = boto3_request(url.rstrip("/"), "POST", "L0SM9cOFvHcCIhw=")

    assert request_line == "POST /production/@connections/L0SM9cOFvHcCIhw%3D HTTP/1.1"
    assert theirs.url.endswith(".amazonaws.com/production/@connections/L0SM9cOFvHcCIhw%3D")
    assert ours["Host"] == "abc123xyz.execute-api.eu-west-1.amazonaws.com"
    assert body == theirs.body
    assert ours["Authorization"] == header(theirs, "Authorization")
    assert ours["X-Amz-Security-Token"] == header(theirs, "X-Amz-Security-Token")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    connection_id=st.text(min_size=1, max_size=40),
    payload=st.binary(max_size=300),
    token=st.none() | st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=60),
    moment=st.integers(min_value=0, max_value=4_102_444_800),
)
def test_signature_is_botocore_sigv4(connection_id: str, payload: bytes, token: str | None, moment: int) -> None:
    """Any id, body, token and time: the Authorization header is SigV4Auth's."""
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    source = mock.Mock(get_frozen_credentials=mock.Mock(return_value=credentials))
    sender = make_sender("http://api.example.com:8443/stage", source, clock=lambda: moment + 0.75)
    path = "/stage/@connections/" + percent_encode(connection_id)
    head = sender._request("POST", path, payload).partition(b"\r\n\r\n")[0].decode()
    ours = dict(line.split(": ", 1) for line in head.split("\r\n")[1:])

    reference = AWSRequest("POST", "http://api.example.com:8443" + path, data=payload)
    at = datetime.datetime.fromtimestamp(moment, datetime.UTC).replace(tzinfo=None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=at):
        SigV4Auth(credentials, "execute-api", REGION).add_auth(reference)
    assert ours["Authorization"] == reference.headers["Authorization"]
    assert ours["X-Amz-Date"] == reference.headers["X-Amz-Date"]
    assert ours["Host"] == "api.example.com:8443"


def test_credentials_are_read_on_every_call_so_refreshed_ones_are_used(server: CaptureServer) -> None:
    old = ReadOnlyCredentials("AKIDOLD", "old-secret", "old-token")
    new = ReadOnlyCredentials("AKIDNEW", "new-secret", "new-token")
    source = mock.Mock(get_frozen_credentials=mock.Mock(side_effect=[old, old, new]))
    sender = frozen_sender(server.url, source)
    for _ in range(3):
        sender.send("abc=", PAYLOAD)
    first, second, third = (request.headers for request in server.requests)
    assert first["Authorization"] == second["Authorization"]
    assert "Credential=AKIDOLD/" in first["Authorization"] and first["X-Amz-Security-Token"] == "old-token"
    assert "Credential=AKIDNEW/" in third["Authorization"] and third["X-Amz-Security-Token"] == "new-token"
    assert third["Authorization"] == header(boto3_like(server.url, new), "Authorization")


def boto3_like(url: str, credentials: ReadOnlyCredentials) -> AWSRequest:
    request = AWSRequest("POST", f"{url}/@connections/abc%3D", data=PAYLOAD)
    with mock.patch("botocore.auth.get_current_datetime", return_value=FROZEN):
        SigV4Auth(credentials, "execute-api", REGION).add_auth(request)
    return request


def test_signing_key_follows_the_day(server: CaptureServer) -> None:
    moments = iter([1_700_000_000.0, 1_700_000_000.0 + 86_400])
    sender = make_sender(server.url, clock=lambda: next(moments))
    sender.send("a", PAYLOAD)
    sender.send("a", PAYLOAD)
    for request, day in zip(server.requests, ["20231114", "20231115"], strict=True):
        reference = AWSRequest("POST", f"{server.url}/@connections/a", data=PAYLOAD)
        at = datetime.datetime.strptime(request.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        with mock.patch("botocore.auth.get_current_datetime", return_value=at):
            SigV4Auth(ReadOnlyCredentials("AKID", "SECRET", TOKEN), "execute-api", REGION).add_auth(reference)
        assert request.headers["X-Amz-Date"].startswith(day)
        assert request.headers["Authorization"] == reference.headers["Authorization"]


# -- construction


def test_from_session_uses_the_session_credentials(server: CaptureServer) -> None:
    session = botocore.session.Session()
    session.set_credentials("AKIDSESSION", "session-secret", "session-token")
    sender = SignedManagementApiSender.from_session(server.url, REGION, 8, session=session)
    sender.send("abc", PAYLOAD)
    assert "Credential=AKIDSESSION/" in server.requests[0].headers["Authorization"]
    assert server.requests[0].headers["X-Amz-Security-Token"] == "session-token"


def test_from_session_without_credentials_fails_early() -> None:
    with pytest.raises(NoCredentialsError):
        SignedManagementApiSender.from_session(
            "https://x.example/prod", REGION, 8, session=mock.Mock(get_credentials=lambda: None)
        )


@pytest.mark.parametrize(
    "url", ["ftp://x.example/prod", "https:///prod", "https://user:pw@x.example/prod", "https://x.example/p?q=1"]
)
def test_rejects_unusable_callback_urls(url: str) -> None:
    with pytest.raises(ValueError):
        make_sender(url)


def test_rejects_an_empty_pool() -> None:
    with pytest.raises(ValueError):
        make_sender("https://x.example/prod", max_connections=0)


# -- answers and failures


@pytest.mark.parametrize("status", [200, 201, 204])
def test_2xx_is_delivered(server: CaptureServer, status: int) -> None:
    server.answer = lambda _request: Answer(status)
    make_sender(server.url).send("abc", PAYLOAD)


def test_410_is_connection_gone(server: CaptureServer) -> None:
    server.answer = lambda _request: Answer(410, {"x-amzn-ErrorType": "GoneException"}, b'{"message":null}')
    with pytest.raises(ConnectionGone) as caught:
        make_sender(server.url).send("gone=", PAYLOAD)
    assert caught.value.connection_id == "gone="


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, "LimitExceededException"), (500, "InternalServerErrorException"), (502, ""), (503, ""), (504, "")],
)
def test_throttling_and_5xx_are_retryable(server: CaptureServer, status: int, error_type: str) -> None:
    server.answer = lambda _request: Answer(status, {"x-amzn-ErrorType": error_type} if error_type else {})
    with pytest.raises(RetryableError, match=str(status)):
        make_sender(server.url).send("abc", PAYLOAD)


def test_other_statuses_fail_with_status_and_type_but_no_payload_or_credentials(server: CaptureServer) -> None:
    # A signature mismatch spells out the canonical request, security token included.
    message = f"The request signature we calculated does not match.\n\nCanonical request:\n{TOKEN}\n{PAYLOAD!r}"
    server.answer = lambda request: (
        Answer(
            403,
            {"x-amzn-ErrorType": "InvalidSignatureException:http://internal.amazon.com/coral/"},
            json.dumps({"message": message}).encode(),
            chunked=True,
        )
        if request.path.endswith("/abc")
        else Answer()
    )
    sender = make_sender(server.url)
    with pytest.raises(SendFailed) as caught:
        sender.send("abc", PAYLOAD)
    text = str(caught.value)
    assert text == "403 InvalidSignatureException: The request signature we calculated does not match."
    assert TOKEN not in text and "SECRET" not in text and "secret-payload-marker" not in text
    sender.send("next", PAYLOAD)  # the chunked answer was read to its end: the connection is reusable
    assert server.connections == 1


@pytest.mark.parametrize(("status", "body"), [(400, b"not json"), (413, b""), (404, b'{"message":"nope"}')])
def test_client_errors_are_send_failed(server: CaptureServer, status: int, body: bytes) -> None:
    server.answer = lambda _request: Answer(status, {}, body)
    with pytest.raises(SendFailed, match=f"^{status} "):
        make_sender(server.url).send("abc", PAYLOAD)


def test_redirects_are_not_followed(server: CaptureServer) -> None:
    server.answer = lambda _request: Answer(307, {"Location": "http://elsewhere.example/"})
    with pytest.raises(SendFailed, match=r"^307"):
        make_sender(server.url).send("abc", PAYLOAD)
    assert len(server.requests) == 1


def test_refused_connection_is_retryable() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(RetryableError):
        make_sender(f"http://127.0.0.1:{port}/prod").send("abc", PAYLOAD)


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    return data


def _silent(sock: socket.socket) -> None:
    _read_request(sock)
    threading.Event().wait(5)


def _hang_up(sock: socket.socket) -> None:
    _read_request(sock)
    sock.close()


def _half_answer(sock: socket.socket) -> None:
    _read_request(sock)
    sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
    sock.close()


def _garbage(sock: socket.socket) -> None:
    _read_request(sock)
    sock.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    sock.close()


@pytest.mark.parametrize("behave", [_silent, _hang_up, _half_answer, _garbage])
def test_transport_failures_are_retryable(behave: Callable[[socket.socket], None]) -> None:
    peer = RawServer(behave)
    try:
        with pytest.raises(RetryableError):
            make_sender(peer.url, read_timeout=0.3).send("abc", PAYLOAD)
    finally:
        peer.close()


# -- TLS


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for localhost: (certificate file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


@pytest.fixture
def tls_server(certificate: tuple[str, str]) -> Iterator[CaptureServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_3  # session tickets arrive after the handshake
    context.load_cert_chain(*certificate)
    capture = CaptureServer(context)
    yield capture
    capture.close()


def test_https_keeps_warm_connections_and_signs_like_boto3(
    tls_server: CaptureServer, certificate: tuple[str, str]
) -> None:
    sender = make_sender(tls_server.url, max_connections=2, ca_bundle=certificate[0])
    sender._clock = lambda: float(calendar.timegm(FROZEN.timetuple()))
    assert sender.open_connections(2) == 2
    threading.Event().wait(0.2)  # the TLS 1.3 tickets are waiting on the idle sockets by now
    for n in range(4):
        sender.send(f"id{n}=", PAYLOAD)
    assert tls_server.connections == 2  # the warm connections were used, none replaced
    theirs = boto3_request(tls_server.url, "POST", "id3=")
    ours = tls_server.requests[-1]
    assert f"https://localhost:{tls_server.port}{ours.path}" == theirs.url
    assert ours.headers["Authorization"] == header(theirs, "Authorization")


def test_https_refuses_an_untrusted_certificate(tls_server: CaptureServer) -> None:
    with pytest.raises(RetryableError, match="SSLCertVerificationError"):
        make_sender(tls_server.url).send("abc", PAYLOAD)
    assert tls_server.requests == []


# -- the connection pool


def test_keeps_connections_alive(server: CaptureServer) -> None:
    sender = make_sender(server.url)
    for n in range(5):
        sender.send(f"id{n}", PAYLOAD)
    assert server.connections == 1
    assert len(server.requests) == 5


def test_connection_close_is_honoured(server: CaptureServer) -> None:
    server.answer = lambda _request: Answer(200, {"Connection": "close"})
    sender = make_sender(server.url)
    sender.send("a", PAYLOAD)
    sender.send("b", PAYLOAD)
    assert server.connections == 2


def test_an_idle_connection_the_server_closed_is_replaced_before_use() -> None:
    answered = threading.Event()

    def once_then_close(sock: socket.socket) -> None:
        _read_request(sock)
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        answered.set()
        threading.Event().wait(0.05)
        sock.close()  # an idle keep-alive timeout

    peer = RawServer(once_then_close)
    try:
        sender = make_sender(peer.url)
        sender.send("a", PAYLOAD)
        assert answered.wait(2)
        threading.Event().wait(0.3)
        sender.send("b", PAYLOAD)  # not a RetryableError: the dead connection was dropped
    finally:
        peer.close()


def test_open_connections_warms_the_pool(server: CaptureServer) -> None:
    sender = make_sender(server.url, max_connections=3)
    assert sender.open_connections(5) == 3
    sender.send("a", PAYLOAD)
    assert server.connections == 3
    sender.shutdown()


def test_parallel_fan_out_delivers_each_member_once_over_a_bounded_pool(server: CaptureServer) -> None:
    members = [f"member-{n}=" for n in range(300)]
    server.answer = lambda request: Answer(410 if request.path.endswith("member-7%3D") else 200)
    sender = make_sender(server.url, max_connections=8)
    with ThreadPoolExecutor(max_workers=8) as pool:
        result = fan_out(
            [members[:150], members[150:]], PAYLOAD, sender=sender, clock=SystemClock(), executor=pool, max_attempts=3
        )
    assert (result.recipients, result.delivered, result.gone_connection_ids, result.failed) == (
        300,
        299,
        ["member-7="],
        0,
    )
    assert sorted(request.path.rsplit("/", 1)[1] for request in server.requests) == sorted(
        percent_encode(member) for member in members
    )
    assert server.connections <= 8
