# Two commands on a fresh machine with Python 3.11 and make:
#   make demo   set up, generate the demo merchant, materialize everything, serve both UIs
#   make test   set up and run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TOOLS := .tools
export UV_PYTHON_DOWNLOADS := never
export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export CAMPAIGNS_HOME ?= $(CURDIR)/data

UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := $(TOOLS)/bin/uv
endif

.PHONY: demo test test-spark setup build serve bench bench-attribution bench-large bench-attribution-maths bench-optimizer bench-publishing bench-workers bench-app bench-cli bench-contacts bench-api bench-webhooks bench-leo bench-setup screenshots clean

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

setup: $(VENV)/.synced

demo: setup
	$(VENV)/bin/campaigns demo-data
	$(VENV)/bin/campaigns build
	$(VENV)/bin/campaigns serve

# Import layers first (seconds), then the suite with branch coverage (threshold in pyproject.toml), one pytest
# worker per core, each test file whole on one worker (TEST_WORKERS=0 runs it in one process; docs/development.md).
TEST_WORKERS ?= auto
test: setup
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile --cov --cov-report=term:skip-covered

# The Spark leg: the spark extra (pyspark, dbt-spark; Java 17 on the machine) and the tests marked `spark`,
# which `make test` skips at collection (no JVM there).
test-spark: setup
	$(UV) sync --frozen --python $(PYTHON) --extra spark --inexact
	CAMPAIGNS_TEST_SPARK=1 $(VENV)/bin/pytest -m spark -p no:cacheprovider

build: setup
	$(VENV)/bin/campaigns build

serve: setup
	$(VENV)/bin/campaigns serve

# The browser tests save the marketer guides' screenshots (docs/guides/images/) as they walk the app.
screenshots: setup
	CAMPAIGNS_SCREENSHOT_DIR=$(CURDIR)/docs/guides/images $(VENV)/bin/pytest tests/e2e/test_browser.py -p no:cacheprovider

bench: bench-attribution bench-optimizer bench-publishing bench-app bench-cli bench-contacts bench-api bench-webhooks bench-leo bench-setup

# The bench extra holds the GPL peer (ChannelAttribution) and nlopt; never a runtime dependency.
# Offline without those wheels in uv's cache the sync fails: the benches still run and print the peer legs as skipped.
BENCH_EXTRA = $(UV) sync --frozen --python $(PYTHON) --extra bench --inexact || echo "warning: the bench extra (channelattribution, nlopt) could not be installed; peer comparisons will be skipped"
bench-attribution: setup
	@$(BENCH_EXTRA)
	$(VENV)/bin/python bench/bench_attribution.py --scale bench --backend both

# 10x scale (about 10M users, 50M touchpoints) on DuckDB, after demo and bench for the growth table.
# Not in `make bench`: generating the large scale alone takes 12-20 min on the shared 2 cores (about 2.5 min of CPU);
# about 0.4 GB of landing files and a DuckDB file of a few GB under /tmp, deleted after.
# One dbt thread: at 10x the two big nodes side by side share the 2 cores and finish later (docs/benchmarks.md).
bench-large: setup
	@$(BENCH_EXTRA)
	$(VENV)/bin/python bench/bench_attribution.py --scales demo,bench,large --backend duckdb --threads 1

bench-attribution-maths: setup
	@$(BENCH_EXTRA)
	$(VENV)/bin/python bench/bench_attribution_maths.py

bench-publishing: setup
	$(VENV)/bin/python bench/bench_publishing.py --posts 10000 --workers 2

# Worker scaling on PostgreSQL (127.0.0.1:5432, user postgres; creates and drops its own databases):
# due posts, then one broadcast through the email delivery engine to a local fake SendGrid.
# The issue's full sizes: make bench-workers BENCH_POSTS=100000 BENCH_RECIPIENTS=1000000 (0 skips a leg).
BENCH_POSTS ?= 20000
BENCH_RECIPIENTS ?= 200000
BENCH_WORKERS ?= 1,2,4,8
bench-workers: setup
	$(VENV)/bin/python bench/bench_workers.py --posts $(BENCH_POSTS) --recipients $(BENCH_RECIPIENTS) --workers $(BENCH_WORKERS)

bench-app: setup
	$(VENV)/bin/python bench/bench_app.py --scale bench

bench-api: setup
	$(VENV)/bin/python bench/bench_api.py --clients 50 --requests 1000 --workers 1,2

# Outbound webhook delivery against plain POSTs of the same bodies (a fresh SQLite store; --database-url for PostgreSQL).
bench-webhooks: setup
	$(VENV)/bin/python bench/bench_webhooks.py --events 2000

bench-cli: setup
	$(VENV)/bin/python bench/bench_cli.py --runs 10

bench-contacts: setup
	$(VENV)/bin/python bench/bench_contacts.py --contacts 100000

bench-leo: setup
	$(VENV)/bin/python bench/bench_leo.py --runs 3

bench-setup: setup
	$(VENV)/bin/python bench/bench_setup_time.py --json bench/results/setup_time.json

bench-optimizer: setup
	@$(BENCH_EXTRA)
	$(VENV)/bin/python bench/bench_optimizer.py

clean:
	rm -rf $(VENV) $(TOOLS) dbt_project/target dbt_project/logs
