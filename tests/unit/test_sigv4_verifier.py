"""The emulator's SigV4 check: its canonical request is botocore's, and what botocore signs
with the local credentials is accepted (and nothing else)."""

from __future__ import annotations

from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from local.emulated.sigv4 import SERVICE, SIGNATURE_MISMATCH, SigV4Verifier, canonical_request

REGION = "us-east-1"
NAMES = ["x-amz-date", "x-amz-content-sha256", "content-type", "user-agent", "x-custom", "expect", "connection"]
VALUES = st.text(alphabet="ab =,\t;:/é", max_size=8)
PATHS = st.text(alphabet="/@abc%2F.~ é#?;=+", max_size=16)
QUERIES = st.text(alphabet="ab=&%20~+", max_size=10)


def _botocore_canonical(
    method: str, host: str, raw_path: str, query: str, received: dict[str, list[str]], signed: list[str], body: bytes
) -> str:
    """What the verifier computed before it had its own: botocore's, on an AWSRequest
    holding only the signed headers."""
    url = f"http://{host}{raw_path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body)
    for name in signed:
        for value in received[name]:
            request.headers[name] = value
    request.context["timestamp"] = "20261203T100000Z"
    canonical: str = SigV4Auth(Credentials("local", "local"), SERVICE, REGION).canonical_request(request)
    return canonical


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "post"]),
    host=st.sampled_from(["127.0.0.1:8000", "localhost", "Example.COM:443"]),
    raw_path=PATHS,
    query=QUERIES,
    headers=st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=6),
    hosts=st.lists(VALUES, max_size=1),
    chosen=st.sets(st.sampled_from(NAMES)),
    body=st.binary(max_size=16),
)
def test_the_canonical_request_is_botocores(
    method: str,
    host: str,
    raw_path: str,
    query: str,
    headers: list[tuple[str, str]],
    hosts: list[str],
    chosen: set[str],
    body: bytes,
) -> None:
    received: dict[str, list[str]] = {"host": [host, *hosts]}  # a repeated Host keeps both values
    for name, value in headers:
        received.setdefault(name, []).append(value)
    signed = ["host", *sorted(name for name in chosen if name in received)]
    expected = _botocore_canonical(method, host, raw_path, query, received, signed, body)
    assert canonical_request(method, host, raw_path, query, received, signed, body) == expected


def _signed(path: str, body: bytes, **overrides: Any) -> tuple[str, str, list[tuple[str, str]], bytes]:
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:8000{path}", data=body)
    SigV4Auth(Credentials("local", overrides.get("secret", "local")), SERVICE, REGION).add_auth(request)
    return "POST", path, [(name, str(value)) for name, value in request.headers.items()], body


def test_what_botocore_signs_is_accepted_and_a_changed_byte_is_not() -> None:
    verifier = SigV4Verifier("local", "local", REGION)
    method, path, headers, body = _signed("/@connections/abc%3D", b'{"n":1}')
    headers.append(("host", "127.0.0.1:8000"))
    assert verifier.verify(method, path, "", headers, body) is None
    refused = verifier.verify(method, path, "", headers, b'{"n":2}')
    assert refused is not None and refused.message == SIGNATURE_MISMATCH
    refused = verifier.verify(method, "/@connections/abd%3D", "", headers, body)
    assert refused is not None and refused.error_type == "InvalidSignatureException"
    method, path, headers, body = _signed("/@connections/abc%3D", b"x", secret="not-local")
    headers.append(("host", "127.0.0.1:8000"))
    refused = verifier.verify(method, path, "", headers, body)
    assert refused is not None and refused.message == SIGNATURE_MISMATCH
