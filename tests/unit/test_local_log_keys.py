"""The local stack runs every function in one process and one Powertools Logger; each
invocation must still log with its own function's keys, as in its own Lambda environment."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from local.emulated import lambdas
from realtime.observability import logger


@pytest.fixture
def lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.registered_formatter)
    underlying = logging.getLogger(logger.name)
    underlying.addHandler(handler)
    level = underlying.level
    underlying.setLevel(logging.INFO)
    logger.clear_state()  # none of the keys earlier tests appended outside an invocation
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    underlying.removeHandler(handler)
    underlying.setLevel(level)
    logger.clear_state()


def handler_logging(message: str, *, wait: threading.Barrier | None = None, **appended: Any) -> lambdas.Handler:
    @logger.inject_lambda_context(correlation_id_path="requestContext.connectionId")
    def handler(event: dict, context: object) -> None:
        if appended:
            logger.append_keys(**appended)
        if wait is not None:
            wait.wait(timeout=10)  # every invocation has set its keys before any logs
        logger.info(message)

    return handler


def event(connection_id: str) -> dict[str, Any]:
    return {"requestContext": {"connectionId": connection_id}}


def test_concurrent_invocations_of_two_functions_log_with_their_own_keys(lines: Any) -> None:
    both = threading.Barrier(2)
    calls = [
        ("message", handler_logging("from message", wait=both), "conn-m"),
        ("fanout_worker", handler_logging("from worker", wait=both, message_id="m-1", group="admins"), "conn-w"),
    ]
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(lambdas.invoke, name, event(cid), handler) for name, handler, cid in calls]:
            future.result()
    by_message = {line["message"]: line for line in lines()}
    assert by_message["from message"]["function_name"] == "realtime-local-message"
    assert by_message["from message"]["correlation_id"] == "conn-m"
    assert "message_id" not in by_message["from message"] and "group" not in by_message["from message"]
    assert by_message["from worker"]["function_name"] == "realtime-local-fanout_worker"
    assert by_message["from worker"]["correlation_id"] == "conn-w"
    assert by_message["from worker"]["message_id"] == "m-1"


def test_concurrent_invocations_of_one_function_have_their_own_request_ids(lines: Any) -> None:
    three = threading.Barrier(3)
    with ThreadPoolExecutor(3) as pool:
        futures = [
            pool.submit(lambdas.invoke, "message", event(f"conn-{n}"), handler_logging(f"call {n}", wait=three))
            for n in range(3)
        ]
        for future in futures:
            future.result()
    logged = lines()
    assert sorted(line["correlation_id"] for line in logged) == ["conn-0", "conn-1", "conn-2"]
    assert all(line["correlation_id"] == f"conn-{line['message'][-1]}" for line in logged)
    assert len({line["function_request_id"] for line in logged}) == 3


def test_appended_keys_persist_in_an_environment_as_in_lambda(lines: Any) -> None:
    lambdas.invoke("fanout_worker", event("c1"), handler_logging("first", message_id="m-1"))
    lambdas.invoke("fanout_worker", event("c2"), handler_logging("second"))  # the same, now idle, environment
    lambdas.invoke("sweeper", event("c3"), handler_logging("elsewhere"))
    first, second, elsewhere = lines()
    assert first["message_id"] == second["message_id"] == "m-1"  # Powertools' append_keys outlives a call
    assert second["function_request_id"] != first["function_request_id"]
    assert "message_id" not in elsewhere and elsewhere["function_name"] == "realtime-local-sweeper"


def test_the_view_is_installed_again_when_powertools_replaces_its_keys(lines: Any) -> None:
    lambdas.invoke("fanout_worker", event("c1"), handler_logging("before", message_id="m-1"))
    logger.clear_state()
    both = threading.Barrier(2)
    calls = [("message", "conn-m"), ("fanout_worker", "conn-w")]
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(lambdas.invoke, n, event(c), handler_logging(n, wait=both)) for n, c in calls]:
            future.result()
    logged = {line["message"]: line for line in lines()[1:]}
    assert {name: line["correlation_id"] for name, line in logged.items()} == dict(calls)


def test_a_new_cold_start_starts_from_the_process_keys(lines: Any) -> None:
    lambdas.invoke("fanout_worker", event("c1"), handler_logging("before", message_id="m-1"))
    lambdas.unload_handlers()
    lambdas.invoke("fanout_worker", event("c2"), handler_logging("after"))
    before, after = lines()
    assert before["message_id"] == "m-1" and "message_id" not in after
    assert after["service"] == before["service"]
