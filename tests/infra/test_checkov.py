"""checkov's CloudFormation checks: every skip in infra/checkov.yaml has a reason, lands on
the resources it names, and answers a finding checkov really reports (none is stale); with
the skips, checkov reports nothing else, in either test configuration.

`make infra-checks` runs checkov on the default synth only; this runs it on both
configurations of the session's synth (support.py), once with and once without the skips,
in one checkov process (10 to 30 s, with the machine's load)."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs

from infra.checkov import METADATA_KEY, Skip, load_skips, skip_accepted_findings
from infra.paths import REPO_ROOT

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
# As infra.mk runs it (CHECKOV_FLAGS), with JSON output (failed checks, and the summary's
# counts) and a zero exit status on findings.
CHECKOV_ARGS = ("--framework", "cloudformation", "--quiet", "--skip-download", "--output", "json", "--soft-fail")

# (template file name, "Type.LogicalId", check id)
Finding = tuple[str, str, str]


def _template_names(assembly_dir: Path) -> list[str]:
    names = sorted(path.name for path in assembly_dir.glob("*.template.json"))
    assert len(names) == 3, names  # default, custom, services
    return names


def _skips_in(template: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """("Type.LogicalId", check id, comment) of every skip the template's metadata carries."""
    for logical_id, resource in template["Resources"].items():
        for skip in resource.get("Metadata", {}).get(METADATA_KEY, {}).get("skip", []):
            yield f"{resource['Type']}.{logical_id}", skip["id"], skip["comment"]


def _without_skips(template: dict[str, Any]) -> dict[str, Any]:
    stripped = json.loads(json.dumps(template))
    for resource in stripped["Resources"].values():
        resource.get("Metadata", {}).pop(METADATA_KEY, None)
    return stripped


@pytest.fixture(scope="module")
def templates(assembly_dir: Path) -> dict[str, dict[str, Any]]:
    return {name: json.loads((assembly_dir / name).read_text()) for name in _template_names(assembly_dir)}


@dataclass(frozen=True)
class CheckovResults:
    failed: dict[str, set[Finding]]  # "with" (the templates as synthesized) / "without" (skips stripped)
    skipped: int  # how many checks checkov skipped (all in the "with" templates)


@pytest.fixture(scope="module")
def checkov_results(templates: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> CheckovResults:
    """What checkov reports on the templates as synthesized and stripped of their skips."""
    if not CHECKOV.exists():
        pytest.skip(f"{CHECKOV.relative_to(REPO_ROOT)} is missing: `make test` (or `make checkov`) installs it")
    files: dict[Path, tuple[str, str]] = {}
    for variant in ("with", "without"):
        directory = tmp_path_factory.mktemp(f"checkov-{variant}")
        for name, template in templates.items():
            path = directory / name
            path.write_text(json.dumps(template if variant == "with" else _without_skips(template)))
            files[path.resolve()] = (variant, name)
    args = [str(CHECKOV), *CHECKOV_ARGS, "--file", *map(str, files)]
    completed = subprocess.run(args, capture_output=True, text=True, timeout=240, check=False, cwd=REPO_ROOT)  # noqa: S603
    assert completed.returncode == 0, completed.stderr[-2000:]
    reports = json.loads(completed.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed: dict[str, set[Finding]] = {"with": set(), "without": set()}
    skipped = 0
    for report in reports:
        assert report["check_type"] == "cloudformation", report["check_type"]
        assert report["summary"]["parsing_errors"] == 0
        skipped += report["summary"]["skipped"]
        for check in report["results"]["failed_checks"]:
            variant, name = files[Path(check["file_abs_path"]).resolve()]
            failed[variant].add((name, check["resource"], check["check_id"]))
    return CheckovResults(failed, skipped)


def test_every_skip_names_a_check_a_resource_type_and_a_reason() -> None:
    skips = load_skips()
    assert skips
    for skip in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", skip.id), skip
        assert re.fullmatch(r"AWS::\w+::\w+", skip.type), skip
        assert skip.constructs, skip
        assert skip.unless is None or re.fullmatch(r"[A-Z][A-Za-z]+(\.[A-Z][A-Za-z]+)*", skip.unless), skip
        assert len(skip.reason) >= 120, skip  # a reason, not a shrug
    # One reason per check and resource: no resource is skipped twice for the same check.
    pairs = [(skip.id, pattern) for skip in skips for pattern in skip.constructs]
    assert len(pairs) == len(set(pairs))


def test_every_skip_lands_on_a_resource(templates: dict[str, dict[str, Any]]) -> None:
    """Each entry of the file skips at least one resource of one configuration, and each
    resource carries each check at most once, with the entry's reason."""
    applied: list[tuple[str, str, str, str]] = [
        (name, resource, check, comment)
        for name, template in templates.items()
        for resource, check, comment in _skips_in(template)
    ]
    assert len({(name, resource, check) for name, resource, check, _ in applied}) == len(applied)
    landed = {(check, comment) for *_, check, comment in applied}
    stale = [skip for skip in load_skips() if (skip.id, skip.reason) not in landed]
    assert not stale


def _applied(templates: dict[str, dict[str, Any]]) -> set[Finding]:
    return {
        (name, resource, check) for name, template in templates.items() for resource, check, _ in _skips_in(template)
    }


def test_checkov_honours_the_skips_and_reports_nothing_else(
    templates: dict[str, dict[str, Any]], checkov_results: CheckovResults
) -> None:
    assert checkov_results.failed["with"] == set()
    assert checkov_results.skipped == len(_applied(templates))


def test_every_skip_answers_a_finding_and_every_finding_is_skipped(
    templates: dict[str, dict[str, Any]], checkov_results: CheckovResults
) -> None:
    applied, findings = _applied(templates), checkov_results.failed["without"]
    stale = applied - findings  # skipped, but checkov finds nothing there
    assert not sorted(stale)
    unanswered = findings - applied
    assert not sorted(unanswered)


def test_unless_leaves_out_resources_that_pass(templates: dict[str, dict[str, Any]]) -> None:
    """`unless`: a function with reserved concurrency (the custom configuration reserves some)
    carries no CKV_AWS_115 skip; the others do (the CDK's own functions never reserve any);
    a distribution with a web ACL (the custom one) carries no CKV_AWS_68 skip."""
    hub_skips = [
        skip for skip in load_skips() if skip.id == "CKV_AWS_115" and skip.constructs[0].startswith("Functions/")
    ]
    assert {skip.unless for skip in hub_skips} == {"ReservedConcurrentExecutions"}
    for template in templates.values():
        skipped = {resource for resource, check, _ in _skips_in(template) if check == "CKV_AWS_115"}
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::Lambda::Function":
                reserved = "ReservedConcurrentExecutions" in resource["Properties"]
                assert (f"AWS::Lambda::Function.{logical_id}" in skipped) != reserved, logical_id
    assert any(
        "ReservedConcurrentExecutions" in resource["Properties"]
        for template in templates.values()
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
    )
    for template in templates.values():
        skipped = {resource for resource, check, _ in _skips_in(template) if check == "CKV_AWS_68"}
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::CloudFront::Distribution":
                protected = "WebACLId" in resource["Properties"]["DistributionConfig"]
                assert (f"AWS::CloudFront::Distribution.{logical_id}" in skipped) != protected, logical_id


def test_an_unknown_unless_property_is_an_error() -> None:
    stack = Stack(App(), "Canary")
    sqs.Queue(stack, "Queue")
    typo = Skip(id="CKV_AWS_27", type="AWS::SQS::Queue", constructs=("Queue/Resource",), reason="-", unless="KmsKey")
    with pytest.raises(ValueError, match="AWS::SQS::Queue has no property KmsKey"):
        skip_accepted_findings(stack, [typo])
