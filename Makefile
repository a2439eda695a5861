# Two commands do everything: `make dev` runs the local stack, `make test` runs every check.
# Both install what they need first (a virtualenv from requirements.lock; the CDK CLI, the
# client SDK's and the dashboard's tools from npm, one workspace) and build the client SDK
# (clients/sdk/dist) and the admin dashboard (clients/dashboard/dist, served by `make dev` at /).

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SUB ?= alice
ROLES ?= admin
SCOPES ?=

export PYTHONPATH := $(CURDIR)/layers/realtime/python:$(CURDIR)
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1


.PHONY: test-python test-checks-clients-infra
.PHONY: install dev token test lint typecheck unit integration e2e infra-test bench fuzz openapi clean help \
	sdk sdk-typecheck sdk-test sdk-e2e sdk-generate sdk-check-generated \
	dashboard dashboard-typecheck dashboard-test dashboard-e2e chromium

help:
	@echo "make dev     - install, then run the local stack on 127.0.0.1:$(PORT) (PORT= overrides)"
	@echo "make test    - install, then lint, type-check and run every test"
	@echo "make -s token SUB=alice ROLES=admin - print a local development JWT"
	@echo "make -s token SCOPES=realtime/publish - a service's client-credentials token (scopes: realtime/publish, realtime/read)"
	@echo ".venv/bin/realtime-hub --help - the operator CLI (publish, tail, stats, presence, history), installed by make dev"
	@echo "make fuzz    - the REST and WebSocket fuzzers with many more examples (FUZZ_EXAMPLES=300)"
	@echo "make bench   - benchmarks: the local stack (latency, throughput), then fan-out to 10k/100k simulated members"
	@echo "make sdk-test / sdk-e2e / sdk-generate - the client SDK's unit tests, its tests against a local stack, its generated types"
	@echo "make dashboard / dashboard-test / dashboard-e2e - build the dashboard, its unit tests, its tests in headless Chromium"

$(VENV)/.installed: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) >&2
	@$(VENV)/bin/pip install --quiet --require-hashes -r requirements.lock 2>&1 \
		| grep -v "^WARNING: Location" >&2 || true
	@$(PY) -c "import aws_lambda_powertools, moto, uvicorn, aws_cdk, cdk_nag" >&2
	@touch $@

# The Python client and its `realtime-hub` CLI (clients/python), editable in the virtualenv.
$(VENV)/.client-installed: $(VENV)/.installed clients/python/pyproject.toml
	@$(VENV)/bin/pip install --quiet --no-deps --editable ./clients/python 2>&1 \
		| grep -v "^WARNING: Location" >&2 || true
	@$(VENV)/bin/realtime-hub --help >/dev/null
	@touch $@

node_modules/.installed: package.json package-lock.json clients/sdk/package.json clients/dashboard/package.json
	@npm ci --no-audit --no-fund --loglevel=error >&2
	@touch $@

# The client SDK (clients/sdk), built whenever a source changes.
SDK := clients/sdk
SDK_NPM := npm --prefix $(SDK) --loglevel=error
SDK_SOURCES := $(shell find $(SDK)/src -name '*.ts' 2>/dev/null) $(SDK)/tsconfig.json $(SDK)/package.json

$(SDK)/dist/.built: node_modules/.installed $(SDK_SOURCES)
	@$(SDK_NPM) run -s build >&2
	@touch $@

# The admin dashboard (clients/dashboard): React + Vite on the SDK, built whenever a source
# (or the SDK) changes; `make dev` serves clients/dashboard/dist at http://127.0.0.1:$(PORT)/.
DASHBOARD := clients/dashboard
DASHBOARD_NPM := npm --prefix $(DASHBOARD) --loglevel=error
DASHBOARD_SOURCES := $(shell find $(DASHBOARD)/src $(DASHBOARD)/public -type f 2>/dev/null) \
	$(DASHBOARD)/index.html $(DASHBOARD)/vite.config.ts $(DASHBOARD)/tsconfig.json $(DASHBOARD)/package.json

$(DASHBOARD)/dist/.built: node_modules/.installed $(SDK)/dist/.built $(DASHBOARD_SOURCES)
	@$(DASHBOARD_NPM) run -s build >&2
	@touch $@

install: $(VENV)/.installed $(VENV)/.client-installed node_modules/.installed $(SDK)/dist/.built $(DASHBOARD)/dist/.built

sdk: $(SDK)/dist/.built

sdk-typecheck: node_modules/.installed
	$(SDK_NPM) run -s typecheck

sdk-test: $(VENV)/.installed node_modules/.installed
	$(SDK_NPM) run -s test

sdk-e2e: $(VENV)/.installed node_modules/.installed
	$(SDK_NPM) run -s test:e2e

sdk-generate: $(VENV)/.installed node_modules/.installed
	$(SDK_NPM) run -s generate

sdk-check-generated: $(VENV)/.installed node_modules/.installed
	$(SDK_NPM) run -s check:generated

dashboard: $(DASHBOARD)/dist/.built

dashboard-typecheck: node_modules/.installed $(SDK)/dist/.built
	$(DASHBOARD_NPM) run -s typecheck

dashboard-test: $(VENV)/.installed node_modules/.installed $(SDK)/dist/.built
	$(DASHBOARD_NPM) run -s test

# Chromium for the browser tests: Debian's package (installed when missing on Debian/Ubuntu).
chromium:
	@bash $(DASHBOARD)/scripts/ensure-chromium.sh

# Headless Chromium against a local stack the tests start; screenshots in $(DASHBOARD)/screenshots/.
dashboard-e2e: $(VENV)/.installed node_modules/.installed $(DASHBOARD)/dist/.built chromium
	$(DASHBOARD_NPM) run -s test:browser

dev: $(VENV)/.installed $(VENV)/.client-installed $(SDK)/dist/.built $(DASHBOARD)/dist/.built
	$(PY) -m local --port $(PORT)

token: $(VENV)/.installed
	@$(PY) -m local.tools.tokens --sub "$(SUB)" --roles "$(ROLES)" --scopes "$(SCOPES)"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy layers/realtime/python/realtime local tests bench
	$(VENV)/bin/mypy clients/python/src/realtime_hub
	$(VENV)/bin/mypy functions/*/handler.py

unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit tests/integration -q

e2e: $(VENV)/.installed
	$(PY) -m pytest tests/e2e -q

openapi: $(VENV)/.installed
	$(PY) -m local.tools.openapi > docs/openapi.json

bench: $(VENV)/.installed
	$(PY) -m bench

# The fuzzers of `make test` (schemathesis on the REST API, hypothesis on the WebSocket),
# with many more examples per operation: FUZZ_EXAMPLES=2000 make fuzz for a long run.
FUZZ_EXAMPLES ?= 300
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/e2e/test_openapi_fuzz.py tests/e2e/test_websocket_fuzz.py

-include infra.mk

# tests/infra runs checkov too (every skip in infra/checkov.yaml still answers a finding).
# The Python suites use about one core; the static checks, the clients' tests and the infra
# checks run beside them on the other (the clients' tests each with their own local stack
# on a free port). Each lane's output is printed whole when it ends.
test: install chromium $(CHECKOV_VENV)/.installed
	$(MAKE) --no-print-directory -j2 --output-sync=target test-python test-checks-clients-infra

test-python:
	$(PY) -m pytest -q

test-checks-clients-infra:
	$(MAKE) --no-print-directory lint typecheck sdk-typecheck dashboard-typecheck
	$(MAKE) --no-print-directory sdk-check-generated sdk-test sdk-e2e dashboard-test dashboard-e2e
	$(MAKE) --no-print-directory infra-checks

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules $(SDK)/node_modules $(SDK)/dist $(DASHBOARD)/node_modules $(DASHBOARD)/dist \
		$(DASHBOARD)/screenshots cdk.out .mypy_cache .pytest_cache .ruff_cache
