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


def _run(part_figures: dict[str, dict[str, float]], when: str, commit: str, model_ms: float = 5.0) -> dict:
    parts = {record.part_of(name) for name in part_figures}
    run = {
        "measured_at": when,
        "provenance": {"git_commit": commit * 40},
        "latency_model_ms": {"dynamodb_ms": model_ms},
    }
    return {
        **run,
        "parts": {part: run for part in parts},
        "results": {"measured": part_figures, "failed": {}, "notes": []},
    }


def test_scenarios_belong_to_the_part_that_measures_them() -> None:
    assert record.part_of("hub.delivery_100") == "stack"
    assert record.part_of("reference.delivery_100") == "reference"
    assert record.part_of("hub.contention") == "contention"


def test_running_one_part_keeps_the_other_parts_saved_figures() -> None:
    previous = _run({"hub.connect": {"p50_ms": 30.0}, "reference.connect": {"p50_ms": 40.0}}, "earlier", "a")
    current = _run({"hub.connect": {"p50_ms": 20.0}}, "now", "b")
    merged = record.merge_parts(previous, current)
    assert merged["results"]["measured"] == {"hub.connect": {"p50_ms": 20.0}, "reference.connect": {"p50_ms": 40.0}}
    assert merged["parts"]["reference"]["measured_at"] == "earlier"
    assert merged["parts"]["stack"]["measured_at"] == "now"
    assert record.carried_over(merged, current) == ["reference: from the run of earlier, commit aaaaaaaaaa"]
    # Only what this run measured is compared, against the run that measured it before.
    lines = record.comparison(previous, current)
    assert "earlier, commit aaaaaaaaaa" in lines[0]
    assert [line.split()[0] for line in lines[1:]] == ["hub.connect.p50_ms"]


def test_figures_from_another_latency_model_are_not_carried_over() -> None:
    previous = _run({"reference.connect": {"p50_ms": 40.0}}, "earlier", "a", model_ms=0.0)
    current = _run({"hub.connect": {"p50_ms": 20.0}}, "now", "b")
    assert record.merge_parts(previous, current)["results"]["measured"] == {"hub.connect": {"p50_ms": 20.0}}


def test_a_document_saved_before_parts_were_recorded_is_merged_too() -> None:
    legacy = _run({"reference.connect": {"p50_ms": 40.0}}, "earlier", "a")
    del legacy["parts"]
    merged = record.merge_parts(legacy, _run({"hub.connect": {"p50_ms": 20.0}}, "now", "b"))
    assert set(merged["results"]["measured"]) == {"hub.connect", "reference.connect"}
