# The two commands: `make run` (the app on embedded defaults with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
export PORT

.PHONY: run test fuzz lint install install-dev clean i18n-extract i18n-update i18n-compile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi seed-demo
	$(BIN)/flask --app wsgi banner
# Ctrl-C stops the processes; then the embedded Redis they used, unless something else uses it
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start web worker clock telegram dispatcher; \
	  status=$$?; $(BIN)/python -c "from app.embedded_redis import stop_after_run; stop_after_run()"; exit $$status

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

fuzz: install-dev
	$(BIN)/python -m tests.fuzz.run

# The interface's catalogs (app/translations): extract the marked strings, merge them into each
# language's .po (then translate what is new), compile the .mo files the app reads (committed).
CATALOGS := app/translations
i18n-extract: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k _lp:1c,2 -k lazy_pgettext:1c,2 --no-location --sort-output \
	  --project "Relay CRM" -o $(CATALOGS)/messages.pot .
i18n-update: i18n-extract
	$(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) --no-fuzzy-matching --ignore-obsolete
i18n-compile: install
	$(BIN)/pybabel compile -d $(CATALOGS) --statistics

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
