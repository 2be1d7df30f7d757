# gospublic — the commands a newcomer needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed
DEMO_MONTH ?= 2025-11
# make bench-pipeline: the scales measured (SCALES=region for a quick run)
SCALES ?= region,national
DEMO_DIR := $(CURDIR)/var/sample/$(DEMO_MONTH)
# the worlds beside VK's in the sample, each written by `python -m sandbox generate-<network>`
SAMPLE_NETWORKS := ok max tg
LOGS := $(CURDIR)/var/logs
# The suite's worker processes (pytest-xdist): one per core by default; a test file stays on one
# worker (its module fixtures are built once). TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= auto
PYTEST_PARALLEL := $(if $(filter 0,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)
WAREHOUSE_WRITER_SLOTS ?= 1  # pool warehouse_writer: DuckDB admits one writing process per file

# The embedded setup: everything under var/, Airflow on SQLite, no server needed.
export AIRFLOW_HOME := $(CURDIR)/var/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export GOSPUBLIC_HOME := $(CURDIR)
export PATH := $(BIN):$(PATH)

# The embedded setup fits 2 cores and DuckDB's single writer (docs/operations.md, "The embedded
# setup"): 2 task processes at once, 2 tasks of a DAG at once, writers through pool warehouse_writer;
# the UI and the API listen on this machine only. DAGs start paused (see the README to unpause).
EMBEDDED_PARALLELISM ?= 2
up demo airflow airflow-init: export AIRFLOW__CORE__PARALLELISM := $(EMBEDDED_PARALLELISM)
up demo airflow airflow-init: export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG := $(EMBEDDED_PARALLELISM)
up demo airflow airflow-init: export AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES := 1
up demo airflow airflow-init: export AIRFLOW__API__WORKERS := 1
up demo airflow airflow-init: export AIRFLOW__API__HOST := 127.0.0.1

.PHONY: help venv lock lint format test test-fast test-prod schema browser demo sample up airflow airflow-init bench bench-pipeline bench-extract bench-incidents bi-starter clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv and install the locked dependencies

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	@# Bytecode compiled once here: PYTHONDONTWRITEBYTECODE environments (CI) would otherwise
	@# recompile Airflow and Great Expectations in every process (about 5 s each).
	$(BIN)/uv pip sync --quiet --require-hashes --compile-bytecode --python $(BIN)/python requirements.txt requirements-dev.txt
	@# The project's own distribution (packages gospublic and transforms), editable: the working
	@# tree is what runs. No build isolation: the build uses the locked setuptools.
	$(BIN)/uv pip install --quiet --no-deps --no-build-isolation --python $(BIN)/python --editable .
	@touch $@

# Hashed: every install (uv pip sync here, pip --require-hashes in the Dockerfile) verifies each archive.
LOCK_FLAGS := --quiet --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu

lock: ## Re-resolve requirements*.txt (pinned and hashed) from requirements*.in
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install --quiet uv==$(UV_VERSION); }
	$(BIN)/uv pip compile $(LOCK_FLAGS) requirements.in -o requirements.txt
	$(BIN)/uv pip compile $(LOCK_FLAGS) requirements-dev.in -o requirements-dev.txt

lint: venv ## ruff (lint, Airflow rules, format), mypy (strict: transforms/, plugins/gospublic/), sqlfluff (sql/)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/sqlfluff lint sql/

format: venv ## ruff: fix what can be fixed and format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint browser ## Lint, then the whole suite on DuckDB and PostgreSQL (CI=true: no PostgreSQL = failure)
	$(BIN)/pytest $(PYTEST_PARALLEL)

browser: ## Headless Chromium (the publication's PDFs and browser tests) and poppler-utils (pdftoppm), via apt
	@{ command -v chromium && command -v pdftoppm; } >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; \
	  else echo "make browser: install Debian's chromium package (needs root)"; exit 1; fi; \
	  echo "installing chromium and poppler-utils (apt)"; \
	  $$SUDO apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    --no-install-recommends chromium fonts-dejavu-core poppler-utils >/dev/null; }

test-prod: venv browser ## docker-compose.yml's topology as local processes (Celery, PostgreSQL, Redis, moto S3) runs the sample month; run table in var/test-prod/
	@status=0; $(BIN)/pytest --prod -m prod tests/prod || status=$$?; \
	  cat var/test-prod/run-table.md 2>/dev/null; exit $$status

test-fast: venv ## The suite without the slow end-to-end DAG runs
	$(BIN)/pytest $(PYTEST_PARALLEL) -m "not slow"

schema: venv ## Regenerate sql/schema.{duckdb,postgres}.sql, the DDL after all migrations (PostgreSQL: GOSPUBLIC_TEST_PG)
	$(BIN)/python -m gospublic.cli schema-snapshot --pg-url "$${GOSPUBLIC_TEST_PG:-postgresql://postgres@127.0.0.1:5432/postgres}"

airflow-init: venv
	@mkdir -p $(AIRFLOW_HOME) $(LOGS)
	@$(BIN)/airflow db migrate > $(LOGS)/airflow-db-migrate.log 2>&1 || { tail -40 $(LOGS)/airflow-db-migrate.log; exit 1; }
	@$(BIN)/airflow pools set vk_api 1 "one task at a time per set of VK tokens" > /dev/null
	@$(BIN)/airflow pools set ok_api 1 "one task at a time per OK application" > /dev/null
	@$(BIN)/airflow pools set max_api 1 "one task at a time per MAX bot" > /dev/null
	@$(BIN)/airflow pools set tg_api 1 "one task at a time per Telegram reading account" > /dev/null
	@$(BIN)/airflow pools set warehouse_writer $(WAREHOUSE_WRITER_SLOTS) "warehouse writers at once (DuckDB: 1, one writing process per file)" > /dev/null

sample: venv ## Generate the sample region for DEMO_MONTH into var/sample/: VK, OK, MAX and Telegram (deterministic, seed 42)
	@test -f $(DEMO_DIR)/manifest.json || $(BIN)/python -m sandbox generate --preset region --month $(DEMO_MONTH) --seed 42 --out $(DEMO_DIR)
	@# a sample generated before OK, MAX and Telegram had worlds gets them beside its data (which stays as it was)
	@for network in $(SAMPLE_NETWORKS); do test -f $(DEMO_DIR)/$$network/manifest.json || \
	  $(BIN)/python -m sandbox generate-$$network --data $(DEMO_DIR) || exit 1; done

demo: airflow-init sample ## Build the embedded warehouse and run the DAGs over the sample month
	@$(BIN)/python -m gospublic.cli run-dag warehouse_migrate --date $(DEMO_MONTH)-01 --log-dir $(LOGS)
	@echo "demo: the runs of $(DEMO_MONTH), one line each as it ends (full log: $(LOGS)/demo.log)"
	@set -o pipefail; $(BIN)/python -u -m sandbox demo --data $(DEMO_DIR) --month $(DEMO_MONTH) 2>&1 | tee $(LOGS)/demo.log | grep --line-buffered -E "^([0-9]+/[0-9]+ |demo:)" || { grep -v "^\s*$$" $(LOGS)/demo.log | tail -40; exit 1; }
	@$(BIN)/python -m gospublic.cli summary
	@$(BIN)/python -m gospublic.cli rating-summary --month $(DEMO_MONTH)
	@echo "demo: health as of the day after $(DEMO_MONTH) (the sample has closed, private and deleted VK pages: they are flagged)"
	@$(BIN)/python -m gospublic.cli health --month $(DEMO_MONTH) --exit-zero

bi-starter: venv ## The BI starter: Superset's dashboard export zipped as var/bi/gospublic-superset.zip (docs/bi.md)
	$(BIN)/python -m gospublic.cli bi-export superset $(CURDIR)/var/bi/gospublic-superset.zip

bench: bench-pipeline bench-extract bench-incidents ## All benchmarks (bench/results.json, bench/extract.json, bench/extract_networks.json, docs/benchmarks.md)

bench-extract: venv ## Share of each network's rate-limit ceiling its extraction reaches (VK: 5,000 pages; OK, MAX, Telegram)
	$(BIN)/python -m bench.extract --out bench/extract.json
	$(BIN)/python -m bench.extract_networks --data var/bench/networks --out bench/extract_networks.json
	$(BIN)/python -m bench.report

bench-pipeline: venv browser ## Every stage at region and national scale on both engines, beside the naive baseline (SCALES=region for a quick run)
	$(BIN)/python -m bench.pipeline --scales $(SCALES)
	$(BIN)/python -m bench.report

bench-incidents: venv ## Time and peak memory of a 1,000,000-row incident export through incidents_ingest's loader
	$(BIN)/python bench/incidents.py

up: airflow-init ## Airflow's UI on the embedded setup: http://127.0.0.1:8080 (this machine only)
	@echo "Airflow UI on http://127.0.0.1:8080 — the admin password is in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated"
	$(BIN)/airflow standalone

airflow: airflow-init ## Any Airflow CLI command on the embedded setup: make airflow CMD="dags list-import-errors"
	$(BIN)/airflow $(CMD)

clean: ## Remove runtime state (var/): warehouse, lake, Airflow metadata, logs
	rm -rf var
