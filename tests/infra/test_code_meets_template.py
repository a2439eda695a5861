"""What the code does at run time, with a synthesized environment, matches what the
template expects of it: the CORS headers of the REST API's responses agree with the
preflight API Gateway answers, and the metrics the code emits are the ones the alarms and
the dashboard watch (same namespace, name and `service` dimension)."""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from infra.monitoring import APP_METRICS
from infra.paths import FUNCTIONS_DIR, LAYER_PYTHON_DIR
from tests.infra.support import Synthesized, dashboard_body, lambda_sandbox, resolved_environment

HEALTH = "/api/admin/realtime/health"


def _get(path: str, origin: str | None) -> dict[str, Any]:
    headers = {"Host": "api.example.com"} | ({"Origin": origin} if origin else {})
    return {
        "resource": path,
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "GET",
            "path": f"/prod{path}",
            "accountId": "123456789012",
            "stage": "prod",
            "requestId": "c0ffee",
            "identity": {"sourceIp": "203.0.113.7"},
            "apiId": "r3st4p1",
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _response_headers(stack: Synthesized, origin: str | None) -> dict[str, str]:
    """The headers of the rest_api function's answer to GET /health from `origin`."""
    with lambda_sandbox(resolved_environment(stack, "rest_api")), mock_aws():
        rest = importlib.import_module("realtime.entrypoints.rest")
        response: dict[str, Any] = rest.handle(_get(HEALTH, origin), None)
    assert response["statusCode"] == 200
    headers = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ",".join(values)
    return headers


def _preflight(stack: Synthesized) -> dict[str, str]:
    (preflight, *_) = [
        method["Properties"]
        for method in stack.resources("AWS::ApiGateway::Method").values()
        if method["Properties"]["HttpMethod"] == "OPTIONS"
    ]
    parameters = preflight["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
    prefix = "method.response.header."
    return {name.removeprefix(prefix).lower(): value.strip("'") for name, value in parameters.items()}


def test_responses_carry_cors_headers_for_the_configured_origins(custom: Synthesized) -> None:
    preflight = _preflight(custom)
    for origin in custom.config.cors_allow_origins:
        headers = _response_headers(custom, origin)
        assert headers["access-control-allow-origin"] == origin
        # What the preflight allows a browser to send, the function accepts too.
        allowed = {header.strip().lower() for header in headers["access-control-allow-headers"].split(",")}
        assert {h.lower() for h in preflight["access-control-allow-headers"].split(",")} <= allowed
        assert headers["access-control-max-age"] == preflight["access-control-max-age"]
    assert "access-control-allow-origin" not in _response_headers(custom, "https://evil.example.com")


def test_no_cors_headers_without_configured_origins(default: Synthesized) -> None:
    headers = _response_headers(default, "https://admin.example.com")
    assert not [name for name in headers if name.startswith("access-control-")]


def test_the_preflight_allows_every_method_the_api_serves(custom: Synthesized) -> None:
    with lambda_sandbox(resolved_environment(custom, "rest_api")), mock_aws():
        document = json.loads(importlib.import_module("realtime.entrypoints.rest").openapi_document())
    served = {method.upper() for operations in document["paths"].values() for method in operations}
    assert served <= set(_preflight(custom)["access-control-allow-methods"].split(","))


# -- metrics ---------------------------------------------------------------------------------


def _add_metric_names(paths: list[Path]) -> set[str]:
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(Path(path).read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_metric":
                for keyword in node.keywords:
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        names.add(str(keyword.value.value))
    return names


def _emitted_metric_names() -> set[str]:
    """Every metric name the shared package and the handlers pass to add_metric(name=...)."""
    return _add_metric_names([*(LAYER_PYTHON_DIR / "realtime").rglob("*.py"), *FUNCTIONS_DIR.glob("*/*.py")])


def test_the_monitoring_knows_every_metric_the_code_emits() -> None:
    assert _emitted_metric_names() == set(APP_METRICS)


def _published_metrics() -> set[str]:
    """The metrics realtime.observability.record_deliveries (called after each fan-out) writes."""
    return _add_metric_names([LAYER_PYTHON_DIR / "realtime" / "observability.py"])


def _emf(stack: Synthesized, function: str, metric: str) -> dict[str, Any]:
    """The EMF document the function's code writes with the metric, under its environment."""
    with lambda_sandbox(resolved_environment(stack, function)):
        observability = importlib.import_module("realtime.observability")
        metrics = observability.metrics
        metrics.clear_metrics()  # Powertools keeps metrics and dimensions per process
        try:
            if metric in _published_metrics():  # what a fan-out records
                observability.record_deliveries(delivered=3, gone=1, failed=1, seconds=0.02)
            else:  # the hub's other use cases add theirs to the same Metrics
                metrics.add_metric(name=metric, unit="Count", value=1)
            document: dict[str, Any] = metrics.serialize_metric_set()
        finally:
            metrics.clear_metrics()
    return document


def _watched(stack: Synthesized) -> set[tuple[str, str, str]]:
    """(namespace, metric, service) of every custom metric on the dashboard or an alarm."""
    watched = set()
    for widget in dashboard_body(stack)["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if line and line[0] == stack.config.metrics_namespace:
                assert line[2] == "service", line
                watched.add((line[0], line[1], line[3]))
    for alarm in stack.resources("AWS::CloudWatch::Alarm").values():
        for query in alarm["Properties"].get("Metrics", []):
            metric = query.get("MetricStat", {}).get("Metric", {})
            if metric.get("Namespace") == stack.config.metrics_namespace:
                (dimension,) = metric["Dimensions"]
                watched.add((metric["Namespace"], metric["MetricName"], dimension["Value"]))
    return watched


@pytest.mark.parametrize("metric", sorted(APP_METRICS))
def test_what_the_code_emits_is_what_monitoring_watches(stack: Synthesized, metric: str) -> None:
    watched = _watched(stack)
    for function in APP_METRICS[metric]:
        document = _emf(stack, function, metric)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Dimensions"] == [["service"]]
        assert metric in {definition["Name"] for definition in directive["Metrics"]}
        emitted = (directive["Namespace"], metric, document["service"])
        assert emitted in watched, emitted
