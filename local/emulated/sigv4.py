"""SigV4 verification of the @connections calls, as API Gateway checks them (IAM auth on
`execute-api`): a call must carry `Authorization: AWS4-HMAC-SHA256 Credential=…,
SignedHeaders=…, Signature=…` and `X-Amz-Date`, signed with the local credentials
(`AWS_ACCESS_KEY_ID=local`, `AWS_SECRET_ACCESS_KEY=local`, the local region, service
`execute-api`: local/runner/settings.py), dated within 15 minutes of now.

The signature is recomputed with botocore's `SigV4Auth` canonicalisation (the one boto3
and the functions' signed sender are tested against; `canonical_request` is its
string-only equivalent, checked against it), over the headers the caller says it signed,
the raw path and query as they came on the wire, and the body.

Refusals are the ones API Gateway answers (403, `x-amzn-ErrorType`, `{"message"}`), so
botocore raises the same ClientError locally as in AWS:

- no Authorization header: `MissingAuthenticationTokenException`, "Missing Authentication Token";
- not AWS4-HMAC-SHA256, or a part of it missing: `IncompleteSignatureException`;
- an unknown access key, or a session token (the local credentials have none):
  `UnrecognizedClientException`, "The security token included in the request is invalid.";
- a wrong scope, a date more than 15 minutes off ("Signature expired: …"), a signature
  that does not match ("The request signature we calculated does not match the signature
  you provided. …"): `InvalidSignatureException`.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from urllib.parse import urlsplit

from botocore.auth import EMPTY_SHA256_HASH, SIGNED_HEADERS_BLACKLIST

from realtime.adapters.signed_sender import canonical_uri

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_AMZ_DATE_SHAPE = re.compile(r"[0-9]{8}T[0-9]{6}Z", re.ASCII)

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."  # noqa: S105 - a message


@dataclass(frozen=True)
class Refusal:
    status: int
    error_type: str
    message: str


def _invalid(message: str) -> Refusal:
    return Refusal(403, "InvalidSignatureException", message)


class SigV4Verifier:
    def __init__(
        self, access_key: str, secret_key: str, region: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._access_key = access_key
        self._secret = f"AWS4{secret_key}".encode()
        self._region = region
        self._clock = clock
        # The day's signing key (four HMACs): derived once a day, not once per call. Every
        # POST of a fan-out is verified on the emulator's event loop.
        self._signing_key: tuple[str, bytes] = ("", b"")

    def verify(
        self, method: str, raw_path: str, query: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> Refusal | None:
        """None when the request is signed with the local credentials; else the refusal.
        `headers` are (name, value) pairs as received; `raw_path` and `query` undecoded."""
        received: dict[str, list[str]] = {}
        for name, value in headers:
            received.setdefault(name.lower(), []).append(value)
        authorization = ",".join(received.get("authorization", []))
        if not authorization:
            return Refusal(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        algorithm, _, rest = authorization.strip().partition(" ")
        fields: dict[str, str] = {}
        for part in rest.split(","):
            name, _, value = part.strip().partition("=")
            fields[name] = value
        amz_date = ",".join(received.get("x-amz-date", []))
        missing = [
            f"Authorization header requires '{name}' parameter."
            for name in ("Credential", "Signature", "SignedHeaders")
            if not fields.get(name)
        ]
        if not amz_date:
            missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
        if algorithm != ALGORITHM:
            missing.insert(0, f"Authorization header requires the {ALGORITHM} algorithm.")
        if missing:
            return Refusal(403, "IncompleteSignatureException", " ".join(missing))

        access_key, _, scope = fields["Credential"].partition("/")
        if access_key != self._access_key or "x-amz-security-token" in received:
            return Refusal(403, "UnrecognizedClientException", INVALID_TOKEN)  # the local credentials have no token
        refusal = self._check_scope(scope, amz_date) or self._check_date(amz_date)
        if refusal is not None:
            return refusal
        signed = [name for name in fields["SignedHeaders"].lower().split(";") if name]
        if "host" not in signed:
            return _invalid("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
        if any(name not in received for name in signed):
            return _invalid(SIGNATURE_MISMATCH)
        content_sha256 = received.get("x-amz-content-sha256")
        if content_sha256 is not None and content_sha256 != [sha256(body).hexdigest()]:
            return _invalid(SIGNATURE_MISMATCH)  # a signed hash must be the body's

        canonical = canonical_request(method, received["host"][0], raw_path, query, received, signed, body)
        scope_line = f"{amz_date[:8]}/{self._region}/{SERVICE}/aws4_request"
        string_to_sign = f"{ALGORITHM}\n{amz_date}\n{scope_line}\n{sha256(canonical.encode()).hexdigest()}"
        expected = hmac.new(self._key_for(amz_date[:8]), string_to_sign.encode(), sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            return _invalid(SIGNATURE_MISMATCH)
        return None

    def _key_for(self, day: str) -> bytes:
        cached_day, key = self._signing_key  # one read: another thread may replace it
        if cached_day != day:
            key = hmac.digest(self._secret, day.encode(), "sha256")
            for part in (self._region, SERVICE, "aws4_request"):
                key = hmac.digest(key, part.encode(), "sha256")
            self._signing_key = (day, key)
        return key

    def _check_scope(self, scope: str, amz_date: str) -> Refusal | None:
        day, region, service, terminator = [*scope.split("/"), "", "", ""][:4]
        if terminator != "aws4_request":
            message = "Credential should be scoped with a valid terminator: 'aws4_request'."
            return Refusal(403, "IncompleteSignatureException", message)
        if day != amz_date[:8]:
            return _invalid(
                f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                f"'{day}' != '{amz_date[:8]}', from '{amz_date}'."
            )
        if region != self._region:
            return _invalid(f"Credential should be scoped to a valid region, not '{region}'.")
        if service != SERVICE:
            return _invalid(f"Credential should be scoped to correct service: '{SERVICE}'.")
        return None

    def _check_date(self, amz_date: str) -> Refusal | None:
        try:
            signed_at = _parse_amz_date(amz_date)
        except ValueError:
            return Refusal(
                403, "IncompleteSignatureException", f"X-Amz-Date must be in the ISO8601 Long Format ({_AMZ_DATE})."
            )
        now = datetime.fromtimestamp(self._clock(), UTC)
        minutes = int(MAX_CLOCK_SKEW.total_seconds() // 60)
        if signed_at < now - MAX_CLOCK_SKEW:
            return _invalid(
                f"Signature expired: {amz_date} is now earlier than {_format(now - MAX_CLOCK_SKEW)} "
                f"({_format(now)} - {minutes} min.)"
            )
        if signed_at > now + MAX_CLOCK_SKEW:
            return _invalid(
                f"Signature not yet current: {amz_date} is still later than {_format(now + MAX_CLOCK_SKEW)} "
                f"({_format(now)} + {minutes} min.)"
            )
        return None


def canonical_request(
    method: str,
    host: str,
    raw_path: str,
    query: str,
    received: dict[str, list[str]],
    signed: list[str],
    body: bytes,
) -> str:
    """botocore's `SigV4Auth.canonical_request` for an http:// request carrying only the
    `signed` headers (each with its values as `received`, where `host` and every signed
    name must be), computed on strings: building the AWSRequest and its email-based
    headers cost ~3/4 of a verify, on every POST of a fan-out.
    tests/unit/test_sigv4_verifier.py checks it against botocore's."""
    parts = urlsplit(f"http://{host}{raw_path}" + (f"?{query}" if query else ""))
    path = canonical_uri(parts.path)  # the sender's, kept per path
    canonical_query = ""
    if parts.query:
        pairs = sorted(pair.partition("=")[::2] for pair in parts.query.split("&"))
        canonical_query = "&".join(f"{key}={value}" for key, value in pairs)
    names = sorted({name for name in signed if name not in SIGNED_HEADERS_BLACKLIST} | {"host"})
    headers = "".join(f"{name}:{','.join(' '.join(value.split()) for value in received[name])}\n" for name in names)
    if "x-amz-content-sha256" in signed:
        payload = received["x-amz-content-sha256"][0]
    else:
        payload = sha256(body).hexdigest() if body else EMPTY_SHA256_HASH
    return f"{method.upper()}\n{path}\n{canonical_query}\n{headers}\n{';'.join(names)}\n{payload}"


def _parse_amz_date(amz_date: str) -> datetime:
    """`%Y%m%dT%H%M%SZ`, strictly (ValueError otherwise); strptime costs ~40 % of a verify."""
    if not _AMZ_DATE_SHAPE.fullmatch(amz_date):
        raise ValueError(amz_date)
    year, month, day = int(amz_date[0:4]), int(amz_date[4:6]), int(amz_date[6:8])
    return datetime(year, month, day, int(amz_date[9:11]), int(amz_date[11:13]), int(amz_date[13:15]), tzinfo=UTC)


def _format(moment: datetime) -> str:
    return moment.strftime(_AMZ_DATE)
