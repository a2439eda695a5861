"""What a benchmark run records: a failed scenario never loses the figures before it, the
run says where it was measured, and the comparison with the previous run lines up the
figures both measured."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from bench import record
from bench.record import Outcomes


async def _fails() -> int:
    raise TimeoutError("the stack was still busy")


async def _measures() -> int:
    return 7


def test_a_failed_scenario_is_recorded_and_the_run_goes_on() -> None:
    outcomes = Outcomes()
    assert asyncio.run(outcomes.run("hub.first", _measures())) == 7
    assert asyncio.run(outcomes.run("hub.second", _fails())) is None
    assert asyncio.run(outcomes.run("hub.third", _measures())) == 7
    assert outcomes.failed == {"hub.second": "TimeoutError: the stack was still busy"}
    assert outcomes.to_dict()["failed"] == outcomes.failed


def test_provenance_names_the_cores_and_the_commit() -> None:
    where = record.provenance()
    assert isinstance(where["cpu_count"], int) and where["cpu_count"] >= 1
    assert where["git_commit"] is None or len(where["git_commit"]) == 40
    assert where["git_dirty"] in (True, False, None)


def test_the_comparison_lines_up_the_figures_both_runs_measured() -> None:
    previous = {
        "measured_at": "2026-01-01T00:00:00Z",
        "provenance": {"git_commit": "a" * 40, "git_dirty": True},
        "results": {"measured": {"hub.connect": {"p50_ms": 20.0, "samples": 200}, "hub.gone": {"p50_ms": 1.0}}},
    }
    current = {"results": {"measured": {"hub.connect": {"p50_ms": 25.0, "samples": 200}, "hub.new": {"p50_ms": 3.0}}}}
    lines = record.comparison(previous, current)
    assert "aaaaaaaaaa (dirty)" in lines[0]
    assert len(lines) == 2
    assert lines[1].split() == ["hub.connect.p50_ms", "20.0", "->", "25.0", "+25%"]
    assert record.comparison(previous, {"results": {"measured": {}}}) == []


def test_the_bench_package_finds_the_shared_layer_by_itself() -> None:
    # A clean environment (no PYTHONPATH), as `python -m bench` runs from the README.
    result = subprocess.run(
        [sys.executable, "-c", "import bench, realtime.config; print('ok')"],
        cwd=record.REPO,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "ok", result.stderr
