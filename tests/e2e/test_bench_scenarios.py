"""The local-stack benchmark's machinery at a tiny scale, against both designs (the hub and
the reference design of bench/reference.py): every scenario reports, the results are
saved with where they were measured, and a second run is compared with the first. Counts
only, never timing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import report
from bench.__main__ import main

pytestmark = pytest.mark.e2e

TINY = ["--no-latency-model", "--handshakes", "2", "--publishes", "2", "--resume-missed", "3", "--resume-rounds", "1"]


@pytest.fixture
def results_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(report, "RESULTS_FILE", tmp_path / "latest.json")
    return tmp_path / "latest.json"


def test_the_hub_reports_every_scenario_and_a_second_run_is_compared(
    results_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stack", *TINY, "--subscribers", "2,3"]) == 0
    saved = json.loads(results_file.read_text())
    measured = saved["results"]["measured"]
    assert saved["results"]["failed"] == {}
    assert set(measured) == {"hub.connect", "hub.delivery_2", "hub.delivery_3", "hub.disconnects_3", "hub.resume"}
    assert measured["hub.delivery_3"]["deliveries"] == 3 * 2
    assert measured["hub.resume"]["samples"] == 1
    assert measured["hub.disconnects_3"]["complete"] is True
    assert saved["provenance"]["cpu_count"] >= 1
    assert "compared with the previous run" not in capsys.readouterr().out

    assert main(["stack", *TINY, "--subscribers", "2"]) == 0
    output = capsys.readouterr().out
    assert "compared with the previous run" in output
    assert any(line.split()[:1] == ["hub.connect.p50_ms"] for line in output.splitlines())


def test_the_reference_design_runs_the_same_scenarios(results_file: Path) -> None:
    assert main(["reference", *TINY, "--subscribers", "2,3"]) == 0
    measured = json.loads(results_file.read_text())["results"]["measured"]
    assert set(measured) == {
        "reference.connect",
        "reference.delivery_2",
        "reference.delivery_3",
        "reference.disconnects_3",
    }
    assert measured["reference.delivery_3"]["deliveries"] == 3 * 2
    assert measured["reference.disconnects_3"]["complete"] is True
