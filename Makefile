# Every target builds its own virtual environment from the pinned constraints, so a fresh clone needs only python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: venv bench-venv browser demo test lint typecheck unit bench soak e2e official-tests clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,dev,emulator,docs]"
	# The official provider, for the drop-in signature tests only: beside site-packages, so Airflow never
	# sees it as an installed provider (it registers the same connection type as ours).
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --upgrade \
		--target $(VENV)/official-provider apache-airflow-providers-dbt-cloud==4.11.1
	# The Airflow providers whose asset URI handlers tests/api/test_asset_uris.py checks our URIs against:
	# beside site-packages too, so Airflow never registers them and their drivers are never needed.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --upgrade \
		--target $(VENV)/asset-uri-providers \
		apache-airflow-providers-amazon==9.39.0 apache-airflow-providers-databricks==7.23.0 \
		apache-airflow-providers-google==22.8.0 apache-airflow-providers-mysql==6.7.1 \
		apache-airflow-providers-postgres==7.1.1 apache-airflow-providers-snowflake==6.20.0 \
		apache-airflow-providers-teradata==3.7.1 apache-airflow-providers-trino==6.7.1
	touch $@

# The demo checks the Python (3.11+) and the temporary directory before it builds the venv, so that an
# old Python is named instead of failing in pip. ARGS passes options, e.g. ARGS="--emulator-port 8787".
demo:
	@if [ -x $(BIN)/python ]; then $(BIN)/python scripts/demo_preflight.py; \
	else $(PYTHON) scripts/demo_preflight.py; fi
	@$(MAKE) -q venv 2>/dev/null || echo "Building $(VENV) (the first time: a few minutes) ..."
	@$(MAKE) --no-print-directory -s venv
	$(BIN)/python scripts/demo.py $(ARGS)

# The same DAGs under Airflow's scheduler, triggerer and API server on 127.0.0.1, until Ctrl-C;
# ARGS="--port 8080" picks the UI's port, ARGS="--check" stops after the summary.
.PHONY: demo-ui
demo-ui:
	@if [ -x $(BIN)/python ]; then $(BIN)/python scripts/demo_preflight.py; \
	else $(PYTHON) scripts/demo_preflight.py; fi
	@$(MAKE) -q venv 2>/dev/null || echo "Building $(VENV) (the first time: a few minutes) ..."
	@$(MAKE) --no-print-directory -s venv
	$(BIN)/python scripts/demo_ui.py $(ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

# The suite runs every benchmark scenario in a smoke size (tests/benchmarks), in the benchmark venv,
# and drives Airflow's UI in a real browser (tests/ui).
unit: venv bench-venv browser
	$(BIN)/pytest -q

# benchmarks/.venv-official: the official provider beside this one, rebuilt when the pins change.
bench-venv: venv
	$(BIN)/python benchmarks/run.py --build-only

# The browser tests/ui drives through Playwright: Debian's Chromium, because Playwright's own browser
# download (`playwright install`) is a download this network refuses. apt-get runs only when the
# binary is missing; it needs root (CI runs as root), or sudo where there is one. Recommends (udev,
# upower, a notification daemon) are left out: a headless browser needs none of them.
CHROMIUM := /usr/bin/chromium

browser: $(CHROMIUM)

$(CHROMIUM):
	@if [ "$$(id -u)" -eq 0 ]; then as_root=; \
	elif command -v sudo >/dev/null 2>&1; then as_root=sudo; \
	else echo "make browser: $@ is missing, and installing Debian's chromium needs root or sudo;" \
		"run 'apt-get install chromium' as root" >&2; exit 1; fi; \
	set -x; \
	$$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	$$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium

test: lint typecheck docs-check unit

# The docs site: Sphinx, the API reference generated from the code (sphinx-autoapi), the Markdown pages
# through MyST; offline (no intersphinx). Open docs/_build/html/index.html.
.PHONY: docs docs-check
docs: venv
	$(BIN)/sphinx-build -b html docs docs/_build/html

# Part of `make test`: a fresh build (Sphinx repeats no warning of a page it does not rebuild) with every
# warning an error.
docs-check: venv
	rm -rf docs/_build/check
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/check

e2e: venv
	$(BIN)/python scripts/e2e_airflow.py
	$(BIN)/python scripts/e2e_watchers.py

bench: venv
	$(BIN)/python benchmarks/run.py

# The fault soak at 300 DAG runs (the suite runs 30); prints the table docs/reliability.md quotes.
soak: venv
	SOAK_DAG_RUNS=300 $(BIN)/pytest -q -s tests/integration/test_fault_soak.py

# The official provider's own unit tests (from its sdist), rewritten to import this package.
# Downloads the sdist once; exits non-zero while any of the 290 fails, so it is not part of `make test`.
official-tests: venv
	$(BIN)/python scripts/official_tests.py

clean:
	rm -rf $(VENV) benchmarks/.venv-official .official .mypy_cache .ruff_cache
