"""The IAM routes (/iam/api/admin/realtime/*) through the real rest_api handler: the caller
is the principal API Gateway names after verifying the signature, never anything the
request carries; it is named in the logs and has an idempotency key space of its own."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from local.tools.tokens import mint_token
from realtime.observability import logger
from tests.integration.conftest import Invoke
from tests.integration.events import iam_event, rest_event

BASE = "/api/admin/realtime"
ALERT = {"title": "Disk", "message": "91%"}
ROLE = "arn:aws:sts::123456789012:assumed-role/billing/i-0abc"


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    underlying = logging.getLogger(logger.name)
    underlying.addHandler(handler)
    yield stream
    underlying.removeHandler(handler)


def answer(invoke: Invoke, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = invoke("rest_api", event)
    return response["statusCode"], json.loads(response["body"])


def test_a_signed_publish_is_the_principals_and_says_so_in_the_log(invoke: Invoke, log_lines: io.StringIO) -> None:
    status, body = answer(invoke, iam_event("POST", f"{BASE}/alert", ALERT, ROLE))
    assert status == 200 and body["group"] == "alerts", body
    writes = [json.loads(line) for line in log_lines.getvalue().splitlines() if '"write"' in line]
    assert [(w["caller"], w["method"], w["status"]) for w in writes] == [(ROLE, "POST", 200)]
    invoke("rest_api", rest_event("POST", f"{BASE}/alert", ALERT, mint_token("alice")))
    writes = [json.loads(line) for line in log_lines.getvalue().splitlines() if '"write"' in line]
    assert [w["caller"] for w in writes] == [ROLE, "alice"]  # the next invocation is its own caller


def test_without_a_principal_the_iam_routes_refuse_rather_than_guess(invoke: Invoke) -> None:
    """A misrouted request (no AWS_IAM in front of the function) is refused, whatever it carries."""
    event = iam_event("POST", f"{BASE}/alert", ALERT, None)
    event["headers"]["Authorization"] = f"Bearer {mint_token('alice')}"  # an admin's token counts for nothing here
    assert answer(invoke, event)[0] == 401


def test_a_principal_that_cannot_be_an_identity_is_refused(invoke: Invoke) -> None:
    status, body = answer(invoke, iam_event("POST", f"{BASE}/alert", ALERT, "arn:aws:sts::1:assumed-role/r/a,b"))
    assert (status, body["code"]) == (403, "Forbidden") and "session name with a comma" in body["message"]


def test_the_iam_face_has_its_own_idempotency_keys(invoke: Invoke) -> None:
    """A token whose subject is the principal's ARN is another caller: the same key publishes again."""
    event = iam_event("POST", f"{BASE}/alert", ALERT, ROLE)
    event["headers"]["Idempotency-Key"] = "k-1"
    first = answer(invoke, event)[1]
    assert answer(invoke, event)[1]["id"] == first["id"]  # a retry: the first answer
    impostor = rest_event("POST", f"{BASE}/alert", ALERT, mint_token(ROLE, ["admin"]))
    impostor["headers"]["Idempotency-Key"] = "k-1"
    assert answer(invoke, impostor)[1]["id"] != first["id"]


def test_an_unknown_iam_route_is_404_and_the_token_routes_never_read_the_principal(invoke: Invoke) -> None:
    assert answer(invoke, iam_event("GET", f"{BASE}/nope", None, ROLE))[0] == 404
    forged = rest_event("POST", f"{BASE}/alert", ALERT)  # no token, a principal in the context
    forged["requestContext"]["identity"]["userArn"] = ROLE
    assert answer(invoke, forged)[0] == 401
