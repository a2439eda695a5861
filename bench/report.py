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

from bench.record import Outcomes, provenance
from bench.scenarios import Settled
from bench.stats import Latency, Throughput
from local.emulated.latency import LatencyModel

if TYPE_CHECKING:
    from bench.fanout_scale import FanoutResults, FanoutRun

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "latest.json"
FANOUT_RESULTS_FILE = RESULTS_FILE.with_name("fanout.json")
# Targets without the latency model (the emulator's own speed) and with it (AWS-like round
# trips): group size → publish→delivery p50.
CONNECT_P50_TARGET_MS = 25.0
DELIVERY_P50_TARGETS_MS = {100: 100.0}
MODEL_DELIVERY_P50_TARGETS_MS = {100: 150.0, 1000: 600.0}
# The fan-out scale targets: 10,000 members within 2 s with 16 workers (at 20 ms per call),
# and per-delivery CPU at most a fifth of a naive sequential boto3 loop's.
FANOUT_TARGET_MEMBERS = 10_000
FANOUT_TARGET_WORKERS = 16
FANOUT_TARGET_SECONDS = 2.0
FANOUT_CPU_TARGET_RATIO = 5.0


def _verdict(value: float, target: float) -> str:
    return "meets target" if value <= target else "MISSES target"


def latency_figures(latency: Latency) -> dict[str, Any]:
    return asdict(latency)


def throughput_figures(throughput: Throughput) -> dict[str, Any]:
    return {
        "subscribers": throughput.subscribers,
        "publishes": throughput.publishes,
        "deliveries": throughput.deliveries,
        "seconds": throughput.seconds,
        "deliveries_per_second": throughput.per_second,
    }


def settled_figures(settled: Settled) -> dict[str, Any]:
    return asdict(settled)


# -- the local stack and the reference design, side by side


def _cell(figures: dict[str, Any] | None, name: str, unit: str = "ms") -> str:
    if figures is None or name not in figures:
        return "-"
    value = figures[name]
    return f"{value:,.1f} {unit}" if unit == "ms" else f"{value:,.2f} {unit}" if unit == "s" else f"{value:,.0f}"


def _design_ratio(
    reference: dict[str, Any] | None, hub: dict[str, Any] | None, name: str, higher_is_better: bool
) -> str:
    if not reference or not hub or not reference.get(name) or not hub.get(name):
        return "-"
    ratio = hub[name] / reference[name] if higher_is_better else reference[name] / hub[name]
    return f"{ratio:,.1f}x"


def stack_rows(outcomes: Outcomes, *, latency_model: bool) -> list[tuple[str, str, str, str, str]]:
    """(metric, hub, reference, reference/hub, target) for everything measured."""
    measured = outcomes.measured
    rows: list[tuple[str, str, str, str, str]] = []

    def add(metric: str, scenario: str, name: str, unit: str = "ms", target: str = "", higher: bool = False) -> None:
        hub, reference = measured.get(f"hub.{scenario}"), measured.get(f"reference.{scenario}")
        if hub is None and reference is None:
            return
        rows.append(
            (
                metric,
                _cell(hub, name, unit),
                _cell(reference, name, unit),
                _design_ratio(reference, hub, name, higher),
                target,
            )
        )

    connect = measured.get("hub.connect")
    target = ""
    if not latency_model and connect is not None:
        target = f"p50 <= {CONNECT_P50_TARGET_MS:.0f} ms  {_verdict(connect['p50_ms'], CONNECT_P50_TARGET_MS)}"
    add("connect p50 (authorizer + $connect)", "connect", "p50_ms", target=target)
    add("connect p99", "connect", "p99_ms")
    targets = MODEL_DELIVERY_P50_TARGETS_MS if latency_model else DELIVERY_P50_TARGETS_MS
    counts = sorted({int(key.rpartition("_")[2]) for key in measured if key.split(".", 1)[1].startswith("delivery_")})
    for count in counts:
        hub = measured.get(f"hub.delivery_{count}")
        target = ""
        if count in targets and hub is not None:
            target = f"p50 <= {targets[count]:.0f} ms  {_verdict(hub['p50_ms'], targets[count])}"
        path = "queued" if count > 500 else "inline"
        add(f"publish->delivery p50, {count:,} subscribers ({path})", f"delivery_{count}", "p50_ms", target=target)
        add(f"publish->delivery p99, {count:,} subscribers", f"delivery_{count}", "p99_ms")
        add(f"deliveries/s, {count:,} subscribers", f"delivery_{count}", "deliveries_per_second", "/s", higher=True)
    for key in sorted(measured):
        design, _, scenario = key.partition(".")
        if scenario.startswith("disconnects_") and (design == "hub" or f"hub.{scenario}" not in measured):
            count = int(scenario.rpartition("_")[2])
            add(f"{count:,} disconnects at once, until all ran", scenario, "seconds", "s")
    resume = measured.get("hub.resume")
    if resume is not None:
        add(f"resume of {resume['missed']} missed messages p50", "resume", "p50_ms")
        add("resume p99", "resume", "p99_ms")
    return rows


def print_stack_tables(outcomes: Outcomes, *, latency_model: bool) -> None:
    rows = stack_rows(outcomes, latency_model=latency_model)
    model = LatencyModel.aws_like() if latency_model else None
    if rows:
        header = ("metric", "this hub", "reference", "ratio", "target")
        widths = [max(len(header[i]), *(len(row[i]) for row in rows)) for i in range(len(header))]
        print()
        print("  ".join(f"{name:<{width}}" for name, width in zip(header, widths, strict=True)))
        print("  ".join("-" * width for width in widths))
        for row in rows:
            print(
                "  ".join(
                    f"{cell:<{width}}" if i in (0, 4) else f"{cell:>{width}}"
                    for i, (cell, width) in enumerate(zip(row, widths, strict=True))
                )
            )
        print("ratio: how many times the reference design is slower (or, for deliveries/s, this hub faster).")
    if model is not None:
        print(f"Latency model on (ms per call): {model.model_dump()}.")
    else:
        print("Latency model off: the emulator's own speed.")
    contention = outcomes.measured.get("hub.contention")
    if contention is not None:
        print(
            f"contention: {contention['publishers']} publishers to one group: "
            f"{contention['per_second']:.0f} publishes/s, "
            f"{contention['unavailable']} of {contention['publishes']} answered 503, p50 {contention['p50_ms']:.0f} ms"
        )
    for name, failure in outcomes.failed.items():
        print(f"FAILED {name}: {failure}")
    for note in outcomes.notes:
        print(f"note: {note}")
    print("Local emulator on moto, one machine: indicative numbers, not AWS's.")


def stack_document(outcomes: Outcomes, parameters: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    """This run's document; `parts`: the parts it ran (stack, reference, contention)."""
    latency_model = bool(parameters.get("latency_model"))
    model = LatencyModel.aws_like() if latency_model else LatencyModel()
    run = {
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "provenance": provenance(),
        "parameters": parameters,
        "latency_model_ms": model.model_dump(),
    }
    return {
        **run,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "targets": {
            "connect_p50_ms": None if latency_model else CONNECT_P50_TARGET_MS,
            "delivery_p50_ms": {
                str(count): target
                for count, target in (
                    MODEL_DELIVERY_P50_TARGETS_MS if latency_model else DELIVERY_P50_TARGETS_MS
                ).items()
            },
        },
        "parts": {part: run for part in parts},
        "results": outcomes.to_dict(),
    }


def outcomes_of(document: dict[str, Any]) -> Outcomes:
    """The figures of a (merged) document, to print as tables."""
    results = document.get("results", {})
    return Outcomes(
        measured=dict(results.get("measured", {})),
        failed=dict(results.get("failed", {})),
        notes=list(results.get("notes", [])),
    )


def save_document(document: dict[str, Any], path: Path | None = None) -> Path:
    path = path or RESULTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


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
        "provenance": provenance(),
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
