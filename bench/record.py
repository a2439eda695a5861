"""What a benchmark run records besides its figures: each scenario's outcome (a later
failure never loses an earlier figure), where it ran (cores, git commit), and how it
compares with the previous saved run."""

from __future__ import annotations

import json
import os
import subprocess
import traceback
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Outcomes:
    """Scenario name → its figures (a JSON-able dict), or the error that stopped it."""

    measured: dict[str, dict[str, Any]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    async def run(self, name: str, step: Awaitable[T]) -> T | None:
        """Await one scenario; on failure record and print why, and return None."""
        try:
            return await step
        except Exception as exc:  # any failure is reported, and the run goes on
            summary = f"{type(exc).__name__}: {exc}"
            self.failed[name] = summary
            print(f"  {name} FAILED: {summary}\n{_last_frames(exc)}", flush=True)
            return None

    def note(self, line: str) -> None:
        self.notes.append(line)
        print(f"  note: {line}", flush=True)

    def to_dict(self) -> dict[str, Any]:
        return {"measured": self.measured, "failed": self.failed, "notes": self.notes}


def _last_frames(exc: BaseException, frames: int = 3) -> str:
    lines = traceback.format_exception(exc, limit=-frames)
    return "".join("    " + line for chunk in lines for line in chunk.splitlines(keepends=True))


def provenance() -> dict[str, Any]:
    """Cores and the git commit the figures were measured on (dirty: uncommitted changes)."""
    return {"cpu_count": os.cpu_count(), **_git()}


def _git() -> dict[str, Any]:
    try:
        commit = _git_output("rev-parse", "HEAD")
        dirty = bool(_git_output("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": commit, "git_dirty": dirty}


def _git_output(*args: str) -> str:
    return subprocess.run(  # noqa: S603 - fixed arguments
        ["git", *args],  # noqa: S607 - git from PATH
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()


def load_previous(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def flat_figures(document: dict[str, Any]) -> dict[str, float]:
    """`scenario.figure` → number, for the figures worth comparing between runs."""
    figures: dict[str, float] = {}
    measured = document.get("results", {}).get("measured", {})
    for scenario, values in measured.items() if isinstance(measured, dict) else ():
        if not isinstance(values, dict):
            continue
        for name, value in values.items():
            if name in _COMPARED and isinstance(value, int | float) and not isinstance(value, bool):
                figures[f"{scenario}.{name}"] = float(value)
    return figures


_COMPARED = {"p50_ms", "p99_ms", "seconds", "deliveries_per_second", "per_second", "unavailable"}


def part_of(scenario: str) -> str:
    """The part of `python -m bench` that measures a scenario ("hub.connect" → "stack")."""
    design, _, name = scenario.partition(".")
    if name == "contention":
        return "contention"
    return "stack" if design == "hub" else "reference"


def _parts(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Part → when, where and how it was measured. A document saved before parts were
    recorded names its parts by its scenarios, all from its one run."""
    parts = document.get("parts")
    if isinstance(parts, dict):
        return parts
    measured = document.get("results", {}).get("measured", {})
    run = {key: document.get(key) for key in ("measured_at", "provenance", "parameters", "latency_model_ms")}
    return {part_of(scenario): run for scenario in measured} if isinstance(measured, dict) else {}


def merge_parts(previous: dict[str, Any] | None, current: dict[str, Any]) -> dict[str, Any]:
    """What to save: `current` (this run's parts) plus every part of `previous` this run did
    not measure, when both used the same latency model, so `python -m bench stack` keeps the
    reference design's figures for the side-by-side table. Each part keeps its own
    measured_at, provenance and parameters under "parts"."""
    merged = {**current, "parts": dict(_parts(current))}
    if previous is None:
        return merged
    ran = set(merged["parts"])
    kept = {
        part: run
        for part, run in _parts(previous).items()
        if part not in ran and isinstance(run, dict) and run.get("latency_model_ms") == current.get("latency_model_ms")
    }
    if not kept:
        return merged
    before = previous.get("results", {})
    results: dict[str, Any] = {**current["results"]}
    for kind in ("measured", "failed"):
        earlier = {name: value for name, value in (before.get(kind) or {}).items() if part_of(name) in kept}
        results[kind] = {**results[kind], **earlier}
    merged["parts"].update(kept)
    merged["results"] = results
    return merged


def carried_over(merged: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """One line per part shown from an earlier run: when and on which commit."""
    lines = []
    for part, run in merged.get("parts", {}).items():
        if part in current.get("parts", {}):
            continue
        where = run.get("provenance") or {}
        lines.append(f"{part}: from the run of {run.get('measured_at', '?')}, commit {_commit(where)}")
    return lines


def _commit(where: dict[str, Any]) -> str:
    return (where.get("git_commit") or "unknown")[:10] + (" (dirty)" if where.get("git_dirty") else "")


def comparison(previous: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Lines comparing the figures both runs measured (same names), previous → now."""
    before, after = flat_figures(previous), flat_figures(current)
    shared = [name for name in after if name in before]
    if not shared:
        return []
    parts = _parts(previous)
    runs = sorted(
        {
            f"{run.get('measured_at', '?')}, commit {_commit(run.get('provenance') or {})}"
            for part, run in parts.items()
            if isinstance(run, dict) and any(part_of(name.rsplit(".", 1)[0]) == part for name in shared)
        }
    ) or [f"{previous.get('measured_at', '?')}, commit {_commit(previous.get('provenance', {}))}"]
    lines = [f"\ncompared with the previous run ({'; '.join(runs)}):"]
    width = max(len(name) for name in shared)
    for name in shared:
        old, new = before[name], after[name]
        change = f"{(new - old) / old:+.0%}" if old else "n/a"
        lines.append(f"  {name:<{width}}  {old:>10,.1f} -> {new:>10,.1f}  {change:>6}")
    return lines
