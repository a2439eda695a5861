"""The results as a small table on stdout and as JSON in bench/results/latest.json."""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.stats import Latency, Throughput

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "latest.json"
CONNECT_P50_TARGET_MS = 25.0
DELIVERY_P50_TARGET_MS = 100.0


def _verdict(value: float, target: float) -> str:
    return "meets target" if value <= target else "MISSES target"


def print_table(connect: Latency, delivery: Latency, throughput: Throughput, delivery_subscribers: int) -> None:
    rows = [
        (
            f"connect latency p50 ({connect.samples} handshakes)",
            f"{connect.p50_ms:.1f} ms",
            f"<= {CONNECT_P50_TARGET_MS:.0f} ms  {_verdict(connect.p50_ms, CONNECT_P50_TARGET_MS)}",
        ),
        ("connect latency p99", f"{connect.p99_ms:.1f} ms", ""),
        (
            f"publish->delivery p50 ({delivery_subscribers} subscribers, {delivery.samples} deliveries)",
            f"{delivery.p50_ms:.1f} ms",
            f"<= {DELIVERY_P50_TARGET_MS:.0f} ms  {_verdict(delivery.p50_ms, DELIVERY_P50_TARGET_MS)}",
        ),
        ("publish->delivery p99", f"{delivery.p99_ms:.1f} ms", ""),
        (
            f"deliveries/s ({throughput.subscribers:,} subscribers, {throughput.publishes} publishes)",
            f"{throughput.per_second:,.0f} /s",
            "",
        ),
    ]
    width = max(len(row[0]) for row in rows)
    print(f"\n{'metric':<{width}}  {'result':>12}  target")
    print(f"{'-' * width}  {'-' * 12}  {'-' * 28}")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>12}  {target}")
    print("\nLocal emulator on moto, one machine: indicative numbers, not AWS's.")


def save(connect: Latency, delivery: Latency, throughput: Throughput, parameters: dict[str, Any]) -> Path:
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "parameters": parameters,
        "targets": {"connect_p50_ms": CONNECT_P50_TARGET_MS, "delivery_p50_ms": DELIVERY_P50_TARGET_MS},
        "results": {
            "connect": asdict(connect),
            "delivery": asdict(delivery),
            "throughput": {**asdict(throughput), "deliveries_per_second": throughput.per_second},
        },
    }
    RESULTS_FILE.write_text(json.dumps(document, indent=2) + "\n")
    return RESULTS_FILE
