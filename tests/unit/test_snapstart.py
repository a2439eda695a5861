"""SnapStart: every environment restored from one snapshot draws its own jitter."""

from __future__ import annotations

import random
import sys

import pytest
import snapshot_restore_py

from realtime.snapstart import reseed_after_restore
from tests.unit.test_cold_start import FUNCTIONS, probe

_REGISTERED = """
import json, random, sys
sys.path.insert(0, {function_dir!r})
import handler
from snapshot_restore_py import get_after_restore
print(json.dumps([func is random.seed and not args and not kwargs for func, args, kwargs in get_after_restore()]))
"""


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_reseeds_random_after_a_restore(function: str) -> None:
    assert probe(function, _REGISTERED) == [True]  # registered once, at its cold start


def restore_and_draw(snapshot: object) -> list[float]:
    """An environment resumed from `snapshot` (random's state at init): the runtime runs
    the after-restore hooks, then the handler draws its jitter."""
    random.setstate(snapshot)  # type: ignore[arg-type]
    for func, args, kwargs in snapshot_restore_py.get_after_restore():
        func(*args, **kwargs)
    return [random.random() for _ in range(4)]


def test_two_environments_restored_from_one_snapshot_draw_different_jitter() -> None:
    state = random.getstate()
    try:
        random.seed(7)
        snapshot = random.getstate()
        assert restore_and_draw(snapshot) != restore_and_draw(snapshot)
    finally:
        random.setstate(state)


def test_without_the_runtime_s_registry_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # not importable
    assert reseed_after_restore() is False
