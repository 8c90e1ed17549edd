# Every target builds its own virtual environment from the pinned constraints, so a fresh clone needs only python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: venv demo test lint typecheck unit bench e2e official-tests clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,dev,emulator]"
	# The official provider, for the drop-in signature tests only: beside site-packages, so Airflow never
	# sees it as an installed provider (it registers the same connection type as ours).
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --upgrade \
		--target $(VENV)/official-provider apache-airflow-providers-dbt-cloud==4.11.1
	touch $@

demo: venv
	$(BIN)/python scripts/demo.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest -q

test: lint typecheck unit

e2e: venv
	$(BIN)/python scripts/e2e_airflow.py

bench: venv
	$(BIN)/python benchmarks/run.py

# The official provider's own unit tests (from its sdist), rewritten to import this package.
# Downloads the sdist once; exits non-zero while any of the 290 fails, so it is not part of `make test`.
official-tests: venv
	$(BIN)/python scripts/official_tests.py

clean:
	rm -rf $(VENV) benchmarks/.venv-official .official .mypy_cache .ruff_cache
