"""The results as small tables on stdout and as JSON: bench/results/latest.json for the
local-stack scenarios, bench/results/fanout.json for the fan-out scale benchmark."""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.stats import Latency, Throughput

if TYPE_CHECKING:
    from bench.fanout_scale import FanoutResults, FanoutRun

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "latest.json"
FANOUT_RESULTS_FILE = RESULTS_FILE.with_name("fanout.json")
CONNECT_P50_TARGET_MS = 25.0
DELIVERY_P50_TARGET_MS = 100.0
# The fan-out scale targets: 10,000 members within 2 s with 16 workers (at 20 ms per call),
# and per-delivery CPU at most a fifth of a naive sequential boto3 loop's.
FANOUT_TARGET_MEMBERS = 10_000
FANOUT_TARGET_WORKERS = 16
FANOUT_TARGET_SECONDS = 2.0
FANOUT_CPU_TARGET_RATIO = 5.0


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
            f"deliveries/s ({throughput.subscribers:,} subscribers, {throughput.publishes} publishes, queued)",
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


# -- fan-out at scale


def _fanout_verdicts(results: FanoutResults) -> dict[str, dict[str, Any]]:
    """Each target: the measured value, the limit, and whether it is met (None: not measured)."""
    options = results.options
    timed = [
        run
        for run in results.runs
        if (run.members, run.workers) == (FANOUT_TARGET_MEMBERS, FANOUT_TARGET_WORKERS) and options.latency_ms >= 20
    ]
    wall: dict[str, Any] = {"limit_seconds": FANOUT_TARGET_SECONDS, "seconds": None, "met": None}
    if timed:
        wall.update(seconds=timed[0].seconds, met=timed[0].seconds <= FANOUT_TARGET_SECONDS)
    cpu: dict[str, Any] = {"limit_us": None, "worst_us": None, "met": None}
    if results.naive is not None and results.runs:
        limit = results.naive.cpu_us_per_delivery / FANOUT_CPU_TARGET_RATIO
        worst = max(run.cpu_us_per_delivery for run in results.runs)
        cpu.update(limit_us=round(limit, 1), worst_us=round(worst, 1), met=worst <= limit)
    return {"ten_thousand_in_two_seconds": wall, "cpu_a_fifth_of_naive": cpu}


def _ratio(run: FanoutRun, results: FanoutResults) -> str:
    if results.naive is None or not run.cpu_us_per_delivery:
        return "-"
    return f"{results.naive.cpu_us_per_delivery / run.cpu_us_per_delivery:.1f}x less"


def print_fanout_table(results: FanoutResults) -> None:
    options = results.options
    print(
        f"\nfan-out at scale: {options.latency_ms:g} ms per simulated call, slices of {options.slice_size:,} members, "
        f"{options.concurrency} threads per worker, {options.gone_share:.0%} answered 410"
    )
    header = ("members", "workers", "wall", "deliveries/s", "CPU/delivery", "vs naive", "server CPU", "exactly once")
    rows = [
        (
            f"{run.members:,}",
            str(run.workers),
            f"{run.seconds:.2f} s",
            f"{run.per_second:,.0f}",
            f"{run.cpu_us_per_delivery:,.0f} us",
            _ratio(run, results),
            f"{run.server.cpu_seconds:.2f} s",
            "yes" if run.exactly_once else f"NO ({run.failed} failed, {run.server.requests:,} calls)",
        )
        for run in results.runs
    ]
    naive = results.naive
    if naive is not None:
        for members in options.members:
            rows.append(
                (
                    f"{members:,}",
                    "naive",
                    f"{naive.extrapolated_seconds(members):,.0f} s*",
                    f"{naive.per_second:,.0f}",
                    f"{naive.cpu_us_per_delivery:,.0f} us",
                    "1.0x",
                    "",
                    "",
                )
            )
    widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
    print("  ".join(f"{name:>{width}}" for name, width in zip(header, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print("  ".join(f"{cell:>{width}}" for cell, width in zip(row, widths, strict=True)))
    if naive is not None:
        print(
            f"* naive: one process calling boto3 post_to_connection in a loop; {naive.calls} calls measured "
            f"({naive.seconds:.2f} s), wall time EXTRAPOLATED to the member count."
        )
    verdicts = _fanout_verdicts(results)
    wall = verdicts["ten_thousand_in_two_seconds"]
    target = (
        f"target: {FANOUT_TARGET_MEMBERS:,} members with {FANOUT_TARGET_WORKERS} workers at 20 ms "
        f"in <= {FANOUT_TARGET_SECONDS:g} s:"
    )
    if wall["met"] is None:
        print(f"{target} not measured (needs --members {FANOUT_TARGET_MEMBERS} --workers 16 --latency-ms 20)")
    else:
        print(f"{target} {wall['seconds']:.2f} s  {_verdict(wall['seconds'], FANOUT_TARGET_SECONDS)}")
    cpu = verdicts["cpu_a_fifth_of_naive"]
    target = f"target: CPU per delivery <= naive / {FANOUT_CPU_TARGET_RATIO:g}"
    if cpu["met"] is None:
        print(f"{target}: not measured (needs --naive-sample > 0)")
    else:
        print(
            f"{target} (= {cpu['limit_us']:,.0f} us): worst {cpu['worst_us']:,.0f} us  "
            f"{_verdict(cpu['worst_us'], cpu['limit_us'])}"
        )
    print(
        f"One machine ({results.cpus} CPUs) runs the workers, the simulated API and the baseline: in AWS each "
        "worker Lambda has its own CPU, so wall times here are pessimistic; CPU per delivery is what carries over."
    )


def save_fanout(results: FanoutResults, path: Path = FANOUT_RESULTS_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": results.cpus,
        "parameters": asdict(results.options),
        "targets": _fanout_verdicts(results),
        "results": {
            "naive": None if results.naive is None else results.naive.to_dict(),
            "naive_extrapolated_seconds": (
                None
                if results.naive is None
                else {str(n): round(results.naive.extrapolated_seconds(n), 1) for n in results.options.members}
            ),
            "server_cpu_seconds_during_naive": results.server_cpu_while_naive,
            "runs": [run.to_dict() for run in results.runs],
        },
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
