PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := demo
SWITCH_ON := 2026-11-10T08:00
DEMO_NOW := 2026-11-20T10:00
# setuptools announces every editable install with a boxed UserWarning: noise for a demo
PIP := PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip

.PHONY: demo test coverage bench lint clean catalogues

$(BIN)/certify: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.test-installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	@touch $(BIN)/certify $@

demo: $(BIN)/certify
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	@echo "== certify validate"
	$(BIN)/certify validate --actions actions.yaml
	@echo "== certify import examples/"
	$(BIN)/certify import examples/ --db $(DEMO)/certify.db --actions actions.yaml --now 2026-11-01T08:00
	@echo "== switch the actions on, 10 November: what was due before is history, skipped and never mailed"
	$(BIN)/certify run-due --db $(DEMO)/certify.db --actions actions.yaml --now $(SWITCH_ON) --transport dir --out $(DEMO)/outbox
	@echo "== certify run-due --dry-run on 20 November: what would be sent, and what waits on what"
	$(BIN)/certify run-due --dry-run --db $(DEMO)/certify.db --actions actions.yaml --now $(DEMO_NOW)
	@echo "== certify run-due on 20 November"
	$(BIN)/certify run-due --db $(DEMO)/certify.db --actions actions.yaml --now $(DEMO_NOW) --transport dir --out $(DEMO)/outbox
	@echo "== certify log --state sent"
	$(BIN)/certify log --db $(DEMO)/certify.db --state sent
	@echo "== certify explain: why did Fenna de Vries (P004) get nothing?"
	$(BIN)/certify explain --db $(DEMO)/certify.db --actions actions.yaml --person fenna --now $(DEMO_NOW)
	@echo "== what landed in $(DEMO)/outbox/"
	@ls -1 $(DEMO)/outbox

test: $(VENV)/.test-installed
	$(BIN)/ruff check certify tests bench
	$(BIN)/ruff format --check certify tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n 2

# the same suite under coverage, the CLI's subprocesses included (about half as slow again)
coverage: $(VENV)/.test-installed
	$(BIN)/pytest -n 2 --cov --cov-report=term

$(VENV)/.bench-installed: $(VENV)/.test-installed pyproject.toml
	$(PIP) install --quiet -e '.[test,bench]'
	@touch $@

# make bench BENCH_ARGS="--only smtp --repeat 5 --profile"; CERTIFY_FLOORS=DIR for the floors
bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# the message catalogues: every text in _() listed in certify.pot, merged into each
# language's .po (translate what is new there), then compiled into the .mo the package reads
LOCALES := certify/locale
LANGUAGES := en nl
catalogues: $(VENV)/.test-installed
	$(BIN)/pybabel -q extract --no-location --sort-output --project certify --width 96 \
		-k _ -k N_ -k ngettext:1,2 -k in_language:2 --mapping-file babel.cfg --output-file $(LOCALES)/certify.pot certify
	for lang in $(LANGUAGES); do $(BIN)/pybabel -q update --init-missing --no-fuzzy-matching \
		--ignore-obsolete --ignore-pot-creation-date --width 96 --locale $$lang --domain certify \
		--input-file $(LOCALES)/certify.pot --output-dir $(LOCALES) || exit 1; done
	$(BIN)/pybabel compile --statistics --directory $(LOCALES) --domain certify

lint: $(VENV)/.test-installed
	$(BIN)/ruff check --fix certify tests bench
	$(BIN)/ruff format certify tests bench

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
