"""One Logger and Metrics for the whole function (Powertools); tracing is in
realtime/tracing.py, built only by the functions that trace. The service name and metrics
namespace come from POWERTOOLS_SERVICE_NAME / POWERTOOLS_METRICS_NAMESPACE.

Never log an event or a header wholesale: tokens travel in them."""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

# Reads (GET /status, ping…) publish no metric by design; Powertools would warn on each.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
metrics = Metrics()


def reread_environment() -> None:
    """Name the service and metrics namespace from the environment again. In Lambda the
    environment is set before the first import; the local stack sets it later, for functions
    sharing one process, so it calls this at every cold start it emulates."""
    service, namespace = os.environ.get("POWERTOOLS_SERVICE_NAME"), os.environ.get("POWERTOOLS_METRICS_NAMESPACE")
    if namespace:
        metrics.provider.namespace = namespace
    if service:
        metrics.provider.service = service
        logger.service = service
        logger.append_keys(service=service)


def record_deliveries(delivered: int, gone: int, failed: int, seconds: float) -> None:
    """One fan-out, or one page of a queued one (the sums add up either way)."""
    metrics.add_metric(name="Deliveries", unit=MetricUnit.Count, value=delivered)
    metrics.add_metric(name="GoneConnections", unit=MetricUnit.Count, value=gone)
    metrics.add_metric(name="DeliveryFailures", unit=MetricUnit.Count, value=failed)
    metrics.add_metric(name="FanoutDuration", unit=MetricUnit.Milliseconds, value=seconds * 1000)
