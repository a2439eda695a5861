"""One synth for the whole session: the three configurations of RealtimeStack (see support.py)
in one app, with cdk-nag checking them as `cdk synth` does."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import pytest
from aws_cdk.assertions import Template

from infra.application import create_app
from infra.config import StackConfig
from tests.infra.support import CUSTOM_CONTEXT, Synthesized, default_context, services_context


@pytest.fixture(scope="session")
def assembly_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    context = default_context()
    configs = [StackConfig.from_context(c) for c in (context, CUSTOM_CONTEXT, services_context())]
    outdir = tmp_path_factory.mktemp("cdk.out")
    # cdk-nag runs as part of this synth: it raises on any unacknowledged finding.
    create_app(context, str(outdir), configs=configs).synth()
    yield outdir


def _load(assembly_dir: Path, context: dict[str, Any]) -> Synthesized:
    config = StackConfig.from_context(context)
    template = json.loads((assembly_dir / f"{config.stack_name}.template.json").read_text())
    return Synthesized(config, Template.from_json(template), template)


@pytest.fixture(scope="session")
def default(assembly_dir: Path) -> Synthesized:
    return _load(assembly_dir, default_context())


@pytest.fixture(scope="session")
def custom(assembly_dir: Path) -> Synthesized:
    return _load(assembly_dir, CUSTOM_CONTEXT)


@pytest.fixture(scope="session")
def services(assembly_dir: Path) -> Synthesized:
    return _load(assembly_dir, services_context())


@pytest.fixture(scope="session", params=["default", "custom"])
def stack(request: pytest.FixtureRequest) -> Synthesized:
    synthesized: Synthesized = request.getfixturevalue(request.param)
    return synthesized
