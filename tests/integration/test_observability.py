"""Logs and metrics: what operators see, and what they must never see (tokens)."""

import io
import json
import logging
from collections.abc import Iterator

import pytest

from local.tools.tokens import mint_token
from realtime import lean_logging
from realtime.observability import logger
from tests.integration.conftest import Invoke
from tests.integration.events import action_event, authorizer_event, connect_event, rest_event


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the functions log, formatted exactly as in CloudWatch: Powertools' logger,
    and the authorizers' lean one (realtime.lean_logging)."""
    stream = io.StringIO()
    loggers = [
        (logging.getLogger(logger.name), logger.registered_formatter),  # Powertools wraps a stdlib logger
        (lean_logging.logger, lean_logging.JsonFormatter()),
    ]
    levels = []
    for underlying, formatter in loggers:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter)
        underlying.addHandler(handler)
        levels.append((underlying, handler, underlying.level))
        underlying.setLevel(logging.DEBUG)
    yield stream
    for underlying, handler, level in levels:
        underlying.removeHandler(handler)
        underlying.setLevel(level)


def test_tokens_never_reach_the_logs(invoke: Invoke, log_lines: io.StringIO) -> None:
    good, expired, forbidden = mint_token("alice"), mint_token("eve", ttl_seconds=-60), mint_token("bob", [])
    policy = invoke("authorizer", authorizer_event("c1", good))
    invoke("connect", connect_event("c1", policy["context"], policy["principalId"]))
    with pytest.raises(Exception, match="Unauthorized"):
        invoke("authorizer", authorizer_event("c2", expired))
    invoke("authorizer", authorizer_event("c3", forbidden))
    invoke("rest_api", rest_event("POST", "/api/admin/realtime/alert", {"title": "t", "message": "m"}, good))
    invoke("rest_api", rest_event("GET", "/api/admin/realtime/platform-snapshot", None, expired))
    logs = log_lines.getvalue()
    assert "token refused" in logs  # the authorizer did log its decisions…
    for token in (good, expired, forbidden):
        assert token not in logs  # …but never a token
        assert token.split(".")[2] not in logs


def test_publishing_emits_delivery_metrics(
    invoke: Invoke, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    policy = invoke("authorizer", authorizer_event("c1", mint_token("alice")))
    invoke("connect", connect_event("c1", policy["context"], policy["principalId"]))
    capfd.readouterr()
    frame = {"action": "publish", "group": "admins", "type": "TestMessage", "data": {"message": "hi"}}
    invoke("message", action_event("c1", frame))
    emf = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf, "no EMF document was printed"
    names = {m["Name"] for doc in emf for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {
        "MessagesPublished",
        "Deliveries",
        "GoneConnections",
        "DeliveryFailures",
        "FanoutDuration",
    } <= names
    assert emf[-1]["Deliveries"] in (1.0, [1.0])
