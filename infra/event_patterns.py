"""The EventBridge patterns the stack deploys, as plain JSON data (no CDK import): the
rule and the archive in infra/event_bus.py render them, and the local bus
(local/emulated/event_bus.py) matches events against the very same data with moto's
EventBridge pattern engine, so the emulated rule cannot drift from the deployed one."""

from __future__ import annotations

from typing import Any


def ingest_pattern(detail_type: str, lifecycle_source: str) -> dict[str, list[Any]]:
    """Publish requests (`detail-type` = the ingestion's) from anyone but the hub itself:
    its own lifecycle events never loop back into a publish."""
    return {"detail-type": [detail_type], "source": [{"anything-but": [lifecycle_source]}]}
