"""Identifiers shaped like API Gateway's."""

from __future__ import annotations

import secrets
import string
import uuid

# API Gateway ids look like base64 of 10 bytes ("L0SM9cOFvHcCIhw="). Letters and digits
# only, so an id never needs escaping in a URL path (boto3 puts it in /@connections/{id}).
_ALPHABET = string.ascii_letters + string.digits


def gateway_id() -> str:
    """A connection, message or WebSocket request id: 15 characters and a trailing '='."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(15)) + "="


def rest_request_id() -> str:
    """REST APIs use UUIDs for `requestContext.requestId`."""
    return str(uuid.uuid4())


def trace_id(epoch_seconds: int) -> str:
    """An X-Ray trace header value, as API Gateway adds to every request."""
    return f"Root=1-{epoch_seconds:08x}-{secrets.token_hex(12)}"
