# Every target builds its own virtual environment from the pinned constraints, so a fresh clone needs only python3.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: venv demo test lint typecheck unit bench e2e clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,dev,emulator]"
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
	$(BIN)/python scripts/e2e_crash.py

bench: venv
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) benchmarks/.venv-official .mypy_cache .ruff_cache
