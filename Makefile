# simdesk — the two commands everything starts from: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SIMDESK := $(BIN)/simdesk

.PHONY: install install-test run demo test lint messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Migrate the embedded SQLite database, load the demo data, start web + worker + clock.
run: install
	$(SIMDESK) migrate --no-input
	$(SIMDESK) demo
	$(SIMDESK) run

demo: install
	$(SIMDESK) migrate --no-input
	$(SIMDESK) demo

# The whole suite. PostgreSQL and Redis tests run when DATABASE_URL / REDIS_URL are set.
test: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check simdesk config tests bench
	$(BIN)/lint-imports

# Refresh the message catalogues after changing user-facing strings.
LOCALES := zh_Hans zh_Hant ja es

messages: install
	cd simdesk && ../$(SIMDESK) makemessages $(addprefix -l ,$(LOCALES)) --no-obsolete \
		--no-location --ignore 'static/*'
	cd simdesk && ../$(SIMDESK) compilemessages $(addprefix -l ,$(LOCALES))

clean:
	rm -rf $(VENV) var .pytest_cache
