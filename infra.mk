# Infrastructure targets, included by the Makefile (`make test` runs infra-checks after pytest).
#
#   make infra-checks   type-check the CDK app and its tests, synth it (cdk-nag fails the
#                       synth on any unacknowledged finding), cfn-lint every template and
#                       run checkov's CloudFormation checks on them (infra/checkov.yaml)
#   make checkov        synth, then checkov alone
#   make synth | diff | deploy | destroy [CDK_ARGS="-c stageName=dev ..."]
#   make layer          build the shared Lambda layer (synth does it too)
#   make dashboard      build the dashboard (clients/dashboard/dist), which synth deploys
#
# Synth needs no AWS account, credentials or Docker; deploy/diff/destroy use your AWS
# credentials (see docs/deploy.md).

CDK := node_modules/.bin/cdk
CDK_OUT := cdk.out
CDK_ARGS ?=
CDK_FLAGS := --no-notices --output $(CDK_OUT)

# No network calls the gate does not need: version checks, telemetry, EC2 metadata lookups.
export CDK_DISABLE_VERSION_CHECK := true
export CDK_DISABLE_CLI_TELEMETRY := true
export AWS_EC2_METADATA_DISABLED := true
# jsii warns on every run about Node 20 (still what the machine has); quiet it.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

# A DependsOn from each function to its role, which CDK adds and a GetAtt already implies.
CFN_LINT_IGNORE := W3005

# checkov lives in a virtualenv of its own, from its own hash-pinned lock: its pins (boto3,
# pydantic, cfn-lint, ...) would fight requirements.lock. Accepted findings are skipped
# resource by resource (infra/checkov.yaml, written into the templates' Metadata), so the
# command line skips nothing; --skip-download keeps it offline (no Prisma Cloud calls).
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov
CHECKOV_FLAGS := --framework cloudformation --compact --quiet --skip-download

.PHONY: infra-checks infra-test infra-typecheck layer synth cfn-lint checkov diff deploy destroy bootstrap

# The stack deploys the built dashboard (infra/dashboard.py): synth, diff, deploy and destroy
# (the CDK runs the app for each) build it first with the Makefile's `dashboard` target
# (clients/dashboard/dist). tests/infra synthesizes with a fixture build
# (tests/infra/fixtures/dashboard-dist) instead, as the templates do not depend on the
# app's files; `-c dashboard=false` deploys no dashboard.

infra-checks: infra-typecheck cfn-lint checkov

infra-test: $(VENV)/.installed $(CHECKOV_VENV)/.installed
	$(PY) -m pytest tests/infra -q

$(CHECKOV_VENV)/.installed: requirements-checkov.lock
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV) >&2
	@$(CHECKOV_VENV)/bin/pip install --quiet --require-hashes -r requirements-checkov.lock 2>&1 \
		| grep -v "^WARNING: Location" >&2 || true
	@$(CHECKOV) --version >&2
	@touch $@

infra-typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy app.py infra tests/infra

layer: $(VENV)/.installed
	$(PY) -m infra.build_layer

synth: $(VENV)/.installed node_modules/.installed dashboard
	@rm -rf $(CDK_OUT)
	$(CDK) synth $(CDK_FLAGS) --quiet $(CDK_ARGS)

cfn-lint: synth
	$(VENV)/bin/cfn-lint $(CDK_OUT)/*.template.json --ignore-checks $(CFN_LINT_IGNORE)

checkov: synth $(CHECKOV_VENV)/.installed
	$(CHECKOV) $(CHECKOV_FLAGS) --file $(CDK_OUT)/*.template.json

diff: $(VENV)/.installed node_modules/.installed dashboard
	$(CDK) diff $(CDK_FLAGS) $(CDK_ARGS)

deploy: $(VENV)/.installed node_modules/.installed dashboard
	$(CDK) deploy $(CDK_FLAGS) --require-approval broadening $(CDK_ARGS)

destroy: $(VENV)/.installed node_modules/.installed dashboard
	$(CDK) destroy $(CDK_FLAGS) $(CDK_ARGS)

bootstrap: $(VENV)/.installed node_modules/.installed
	$(CDK) bootstrap $(CDK_FLAGS) $(CDK_ARGS)
