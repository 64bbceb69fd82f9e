PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo
DEMO_NOW := 2026-11-20T10:00

.PHONY: demo test bench lint clean

$(BIN)/certify: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.test-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(BIN)/certify $@

demo: $(BIN)/certify
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@echo "== certify validate"
	$(BIN)/certify validate --actions actions.yaml
	@echo "== certify import examples/"
	$(BIN)/certify import examples/ --db $(DEMO)/certify.db --actions actions.yaml --now 2026-11-01T08:00
	@echo "== certify run-due --dry-run"
	$(BIN)/certify run-due --dry-run --db $(DEMO)/certify.db --actions actions.yaml --now $(DEMO_NOW)
	@echo "== certify run-due"
	$(BIN)/certify run-due --db $(DEMO)/certify.db --actions actions.yaml --now $(DEMO_NOW) --transport dir --out $(DEMO)/outbox
	@echo "== certify log"
	$(BIN)/certify log --db $(DEMO)/certify.db
	@echo "== what landed in $(DEMO)/outbox/"
	@ls -1 $(DEMO)/outbox

test: $(VENV)/.test-installed
	$(BIN)/ruff check certify tests bench
	$(BIN)/ruff format --check certify tests bench
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(VENV)/.test-installed
	$(BIN)/python -m bench

lint: $(VENV)/.test-installed
	$(BIN)/ruff check --fix certify tests bench
	$(BIN)/ruff format certify tests bench

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
