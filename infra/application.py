"""Build the CDK app: configuration from the context, the stack, cdk-nag's checks and
checkov's accepted findings."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import App

from infra.checkov import skip_accepted_findings
from infra.config import ContextError, StackConfig
from infra.dashboard import DashboardNotBuilt
from infra.nag import add_checks
from infra.stack import RealtimeStack


def create_app(
    context: Mapping[str, Any] | None = None,
    outdir: str | None = None,
    *,
    configs: Sequence[StackConfig] | None = None,
) -> App:
    """The app, where every finding of cdk-nag's packs (AwsSolutions, Serverless) fails the
    synth, and whose templates carry the checkov findings accepted in infra/checkov.yaml.

    Under the CDK CLI (app.py) everything comes from the CLI: context, output directory,
    and one stack configured by that context. Tests pass cdk.json's context, a directory
    of their own and, to synthesize several configurations at once, their configs."""
    app = App(context=dict(context) if context is not None else None, outdir=outdir)
    for config in configs or [StackConfig.from_context(app.node.get_all_context())]:
        # Environment-agnostic: no account or region lookups, so synth needs no AWS credentials.
        stack = RealtimeStack(app, config.stack_name, config=config)
        skip_accepted_findings(stack)
    add_checks(app)
    return app


def main() -> int:
    try:
        app = create_app()
    except (ContextError, DashboardNotBuilt) as exc:
        print(exc, file=sys.stderr)
        return 2
    app.synth()
    return 0
