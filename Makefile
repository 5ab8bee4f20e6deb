# make synth | make test | make check | make lint | make bench | make validate — each installs what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ENV ?= dev
# make rehearse-cutover's load (application transactions/s); make check runs it at 100 beside the other rehearsals.
NIGHT_RATE ?= 200
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
export CHECKPOINT_DISABLE := 1
# Node 22 from node_modules (npm package node@22) comes first: jsii and the cdktf CLI use it. Our own pipenv
# (.build/tools, installed when the machine has none) comes last: the targets below run it. cdktf.json's app needs
# none (scripts/in-venv runs the project's .venv).
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.local/bin:$(PATH):$(CURDIR)/.build/tools/bin

PIPENV_VERSION := 2026.10.3
# pipenv from the PATH, else our own copy in .build/tools (a venv: works on an "externally managed" Python, PEP 668).
PIPENV := $(shell command -v pipenv 2>/dev/null || echo $(CURDIR)/.build/tools/bin/pipenv)
SHA256 := $(shell command -v sha256sum >/dev/null 2>&1 && echo sha256sum || echo "shasum -a 256")
PY_STAMP := .venv/.synced-$(shell $(SHA256) Pipfile.lock 2>/dev/null | cut -c1-12)
NODE_STAMP := node_modules/.installed-$(shell $(SHA256) package-lock.json 2>/dev/null | cut -c1-12)
STACK_JSON := cdktf.out/stacks/inventory-migration-$(ENV)/cdk.tf.json

.PHONY: help install synth synth-hcl mirror summary test check lint bench bench-verify bench-files bench-post-data bench-cutover validate phases network rehearse rehearse-cutover rehearse-cutover-native clean

help:
	@echo "make synth  [ENV=dev|prod]  synthesize to cdktf.out/stacks/<stack>/cdk.tf.json and summarize"
	@echo "make synth-hcl [ENV=...]    the stack as HCL for reviewers: cdktf.out/hcl/<stack>/{providers,variables,main,outputs}.tf"
	@echo "make mirror [ENV=dev]       the hashicorp/aws provider into .terraform-mirror/ (terraform providers mirror) for offline runs"
	@echo "make test                    the everyday tier: unit, construct, docs, terraform validate, checkov, PostgreSQL 13 -> 16"
	@echo "make check                   lint + every test (the deploy rehearsal, the cutover night, both PostgreSQL pairs), coverage >= 95%; CI runs it"
	@echo "make lint                    ruff + mypy"
	@echo "make bench                   synth time and peak memory vs. a bare provider import"
	@echo "make bench-verify            migrationctl verify vs. the COPY floor and reladiff on >= 1 GB"
	@echo "make bench-post-data         schema post-data serial vs --jobs 2 vs pgcopydb's index step on >= 5 GB"
	@echo "make bench-files             migrationctl files verify vs. rclone check on 100,000 files in moto S3"
	@echo "make validate [ENV=...]      terraform init + validate of the synthesized stack, offline"
	@echo "make phases                  resources per phase and changes per transition (docs/phases.md)"
	@echo "make network                 the flow matrix decided on every phase of dev and prod (docs/network.md)"
	@echo "make rehearse [ENV=...]      apply every phase to a local AWS emulator, re-plan empty, destroy to nothing"
	@echo "make rehearse-cutover        cutover / rollback / cutover on PostgreSQL 13 -> 16 under load, DMS tasks on the"
	@echo "                             stand-in (30 s stops), with the DMS fault cases"
	@echo "make rehearse-cutover-native the same night on native logical replication, with its fault cases"
	@echo "make bench-cutover           three whole cutover rehearsals: write unavailability per switch, median and all runs"

$(CURDIR)/.build/tools/bin/pipenv:
	python3 -m venv .build/tools
	.build/tools/bin/pip install --quiet "pipenv==$(PIPENV_VERSION)"

$(PY_STAMP): Pipfile.lock | $(PIPENV)
	$(PIPENV) sync --dev
	@rm -f .venv/.synced-* && touch $@

$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	@# npm does not run the embedded PostgreSQL packages' postinstall (shared-library symlinks): run it here.
	@# They are optional (Linux x64 only): elsewhere synth and deploy work, and the PostgreSQL tests use Debian's or skip.
	@for pkg in node_modules/pg13 node_modules/pg16; do if [ -d $$pkg ]; then (cd $$pkg && ../.bin/node scripts/hydrate-symlinks.js); fi; done
	@rm -f node_modules/.installed-* && touch $@

install: $(PY_STAMP) $(NODE_STAMP)

synth: install
	MIGRATION_ENV=$(ENV) npx --no-install cdktf synth
	@$(PIPENV) run python -m inventory_migration.devtools.summary $(ENV)

# HCL laid out as a hand-written module (the dashboard body as its own JSON file); tests/devtools/test_hcl.py proves it
# plans the same stack as the JSON.
synth-hcl: install
	$(PIPENV) run python -m inventory_migration.devtools.hcl $(ENV)

# The hashicorp/aws provider for offline init/validate/plan: TF_PROVIDER_MIRROR, else .terraform-mirror/ (this
# target: `terraform providers mirror` of the synthesized stack), else a machine image's mirror under /opt.
mirror: synth
	$(PIPENV) run python -m inventory_migration.devtools.terraform_cli mirror cdktf.out/stacks/inventory-migration-$(ENV)/cdk.tf.json

summary:
	@$(PIPENV) run python -m inventory_migration.devtools.summary $(ENV)

# The everyday tier: everything but the rehearsals and the breadth `make check` adds (the 15-to-15 pair, prod's
# terraform and checkov runs, every phase validated, the HCL synth, terraform plan against moto, the harness's own
# tests). About 3½ minutes of pytest on 2 cores (2026-12-08: 1,024 tests in 3 min 29 s), plus the install.
EVERYDAY := not rehearsal and not cutover_night and not wide
test: install
	$(PIPENV) run python -m pytest -n 2 -m "$(EVERYDAY)"

# Lint, then every test with coverage (floor 95 %). Two workers: the deploy rehearsal (its legs side by side: minutes
# of provider polling, little CPU) starts first on one, the cutover night on the other; the rest follows.
check: lint
	$(PIPENV) run python -m pytest -n 2 --dist loadgroup --durations=15 --cov --cov-report=term-missing --cov-report=xml

lint: install
	$(PIPENV) run ruff check .
	$(PIPENV) run ruff format --check inventory_migration harness tests main.py scripts
	$(PIPENV) run mypy

bench: install
	$(PIPENV) run python scripts/benchmark_synth.py

bench-verify: install
	$(PIPENV) run python scripts/benchmark_verify.py

bench-post-data: install
	@command -v pgcopydb >/dev/null || echo "pgcopydb missing (apt-get install pgcopydb): compared without it" >&2
	$(PIPENV) run python scripts/benchmark_post_data.py

bench-files: install
	@command -v rclone >/dev/null || { echo "rclone missing: apt-get install rclone" >&2; exit 1; }
	$(PIPENV) run python scripts/benchmark_files.py

validate: synth
	$(PIPENV) run python -m inventory_migration.devtools.terraform_cli $(STACK_JSON)

phases: install
	$(PIPENV) run python -m inventory_migration.devtools.phase_report dev prod

network: install
	$(PIPENV) run python -m inventory_migration.devtools.network_report dev prod

rehearse: install
	$(PIPENV) run python -m harness.deploy.walk $(ENV)

rehearse-cutover: install
	$(PIPENV) run python -m harness.night.cutover_night --faults --rate $(NIGHT_RATE) --workdir build/rehearse-cutover

rehearse-cutover-native: install
	$(PIPENV) run python -m harness.night.cutover_night --replication native --faults --workdir build/rehearse-cutover-native

bench-cutover: install
	$(PIPENV) run python -m harness.night.cutover_night --repeat 3 --rate 520 --workdir build/bench-cutover

clean:
	rm -rf cdktf.out build .pytest_cache .mypy_cache .ruff_cache .coverage coverage.xml
