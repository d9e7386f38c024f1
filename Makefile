# Every target creates .venv on first use: a fresh machine needs only Python and pip.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench soak check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/warroom demo

test: $(STAMP)
	$(BIN)/python -m pytest -m "not soak" -p no:cacheprovider -n auto --dist worksteal

# The walls: lint and format (ruff), types (mypy: the core strict), the import contracts
# (import-linter: the core imports no UI, HTTP or live sources; each layer only those
# below it), then the tests.
check: $(STAMP)
	$(BIN)/ruff check src
	$(BIN)/ruff format --check src
	$(BIN)/mypy
	PYTHONPATH=src $(BIN)/lint-imports
	$(BIN)/python -m pytest -m "not soak" -p no:cacheprovider -n auto --dist worksteal

soak: $(STAMP)
	$(BIN)/python -m pytest -m soak -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
