# Two commands set up and check everything: `make plan` and `make test`.
# Needs only python3 (3.11+), pip and npm; every other tool is pinned and installed here.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_COMPILE_BYTECODE := 1
export UV_PYTHON_DOWNLOADS := never

.PHONY: help env plan plan-all preflight test lint secrets format bench bench-dataset bench-assess assess clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

# The optional dependency groups, for tests, benchmarks and assessments, never for `make plan`: the model
# assessment's attack libraries ("assess") and datasets at scale ("spark": pyspark, with Java 17+ from the system,
# and the Azure ML SDK for the Spark job). A sync removes every group it does not name, so this one names both, and
# it runs again whenever the base environment is synced.
$(VENV)/.synced-groups: $(VENV)/.synced
	$(UV) sync --frozen --group assess --group spark --python $(PYTHON)
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

env: $(VENV)/.synced node_modules/.installed ## Create the pinned, locked environment

plan: $(VENV)/.synced node_modules/.installed ## Plan the STACK (default dev) offline, then run the policy gate on it
	$(PY) -m scripts.plan $(STACK)
	$(PY) -m scripts.gate --plan build/$(STACK)/plan.json

plan-all: $(VENV)/.synced ## Plan every stack in stacks/
	@for f in stacks/Pulumi.*.yaml; do s=$${f#stacks/Pulumi.}; $(PY) -m scripts.plan $${s%.yaml} --quiet; done

preflight: $(VENV)/.synced ## Check the signed-in Azure identity may deploy the STACK's plan (after make plan)
	$(PY) -m scripts.ops.preflight $(STACK)

CHECKOV := $(UV) tool run --from checkov==3.3.30 checkov --skip-download --compact --quiet

lint: $(VENV)/.synced-groups ## ruff (lint + format check), mypy, and checkov on the pipeline templates
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(CHECKOV) --framework github_actions -d .github/workflows
	$(CHECKOV) --framework azure_pipelines -f azure-pipelines.yml -f .ci/azure-pipelines-pulumi.yml

# The repository's secrets are a property of the commit, not of a stack: scanned once per commit (by `make test`,
# which both pipeline templates run), never by `make plan`.
secrets: $(VENV)/.synced ## checkov's secrets scan of the repository, against the reviewed exceptions
	$(PY) -m scripts.gate.secrets_scan

format: $(VENV)/.synced ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: env $(VENV)/.synced-groups lint secrets ## Run the whole test suite (after lint and the secrets scan)
	$(PY) -m pytest

bench: $(VENV)/.synced ## Offline-plan speed for 1, 10 and 25 workspaces; gate rules over 1,000-100,000 resources
	$(PY) -m scripts.bench.plan
	$(PY) -m scripts.bench.gate

bench-dataset: env $(VENV)/.synced-groups ## Dataset scan/publish speed on ~200 MB (local and Spark runners), Presidio, k-anonymity on 10M rows
	$(UV) venv --quiet --allow-existing $(TOOLS)/presidio --python $(PYTHON)
	$(UV) pip install --quiet -p $(TOOLS)/presidio/bin/python -r scripts/bench/presidio-requirements.txt
	$(PY) -m scripts.bench.dataset --presidio-python $(TOOLS)/presidio/bin/python

bench-assess: $(VENV)/.synced-groups ## Assessment wall time on a 20-feature classifier, 1,000 samples, against ART called directly
	$(PY) -m scripts.bench.assess

assess: $(VENV)/.synced-groups ## Assess a candidate model: make assess MODEL=m.onnx SAMPLE=spec.yaml [ASSESS_ARGS=...]
	$(PY) -m scripts.assess model --model $(MODEL) --sample $(SAMPLE) $(ASSESS_ARGS)

clean: ## Remove generated files and environments
	rm -rf build $(VENV) $(TOOLS) node_modules .pytest_cache .mypy_cache .ruff_cache
