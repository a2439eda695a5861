"""cfn-lint on every configuration of the session's synth (support.py), as infra.mk runs it
on the default one: the custom configuration turns on what the default leaves off
(SnapStart's versions and aliases on every invocation path, the archive, reserved
concurrency, an external issuer…), so its template must be as clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.paths import REPO_ROOT

# infra.mk's CFN_LINT_IGNORE: a DependsOn from each function to its role, which CDK adds
# and a GetAtt already implies.
IGNORED = "W3005"
# The pinned cfn-lint's console script, beside the interpreter running the tests (.venv).
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")


def test_every_template_is_lint_free(assembly_dir: Path) -> None:
    templates = sorted(str(path) for path in assembly_dir.glob("*.template.json"))
    assert len(templates) == 3, templates  # default, custom, services
    completed = subprocess.run(  # noqa: S603 - our own interpreter and the pinned cfn-lint
        [CFN_LINT, *templates, "--ignore-checks", IGNORED],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_ignored_checks_are_infra_mk_s() -> None:
    assert f"CFN_LINT_IGNORE := {IGNORED}\n" in (REPO_ROOT / "infra.mk").read_text()
