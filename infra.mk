# Infrastructure targets, included by the Makefile (`make test` runs infra-checks after pytest).
#
#   make infra-checks   type-check the CDK app and its tests, synth it (cdk-nag fails the
#                       synth on any unacknowledged finding) and cfn-lint every template
#   make synth | diff | deploy | destroy [CDK_ARGS="-c stageName=dev ..."]
#   make layer          build the shared Lambda layer (synth does it too)
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

.PHONY: infra-checks infra-test infra-typecheck layer synth cfn-lint diff deploy destroy bootstrap

infra-checks: infra-typecheck cfn-lint

infra-test: $(VENV)/.installed
	$(PY) -m pytest tests/infra -q

infra-typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy app.py infra tests/infra

layer: $(VENV)/.installed
	$(PY) -m infra.build_layer

synth: $(VENV)/.installed node_modules/.installed
	@rm -rf $(CDK_OUT)
	$(CDK) synth $(CDK_FLAGS) --quiet $(CDK_ARGS)

cfn-lint: synth
	$(VENV)/bin/cfn-lint $(CDK_OUT)/*.template.json --ignore-checks $(CFN_LINT_IGNORE)

diff: $(VENV)/.installed node_modules/.installed
	$(CDK) diff $(CDK_FLAGS) $(CDK_ARGS)

deploy: $(VENV)/.installed node_modules/.installed
	$(CDK) deploy $(CDK_FLAGS) --require-approval broadening $(CDK_ARGS)

destroy: $(VENV)/.installed node_modules/.installed
	$(CDK) destroy $(CDK_FLAGS) $(CDK_ARGS)

bootstrap: $(VENV)/.installed node_modules/.installed
	$(CDK) bootstrap $(CDK_FLAGS) $(CDK_ARGS)
