# wijkbudget — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
# `make run PORT=8080`: another port (the links in mail follow it)
PORT   ?= 5000
PO     := wijkbudget/translations/en/LC_MESSAGES/messages.po
MO     := $(PO:.po=.mo)
export FLASK_APP := wsgi
# `make run`: plain http on 127.0.0.1, and the links in mail point there
DEV_ENV := WIJKBUDGET_COOKIE_SECURE=false WIJKBUDGET_PUBLIC_URL=http://127.0.0.1:$(PORT)

.PHONY: run test lint install install-run translations run-translations extract-messages i18n db-upgrade clean

run: install-run run-translations
	$(DEV_ENV) $(BIN)/flask db upgrade
	$(DEV_ENV) $(BIN)/flask demo-data --if-empty
	$(DEV_ENV) $(BIN)/flask run --host 127.0.0.1 --port $(PORT)

test: install translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check wijkbudget tests
	$(BIN)/ruff format --check wijkbudget tests
	$(BIN)/mypy

install: $(STAMP)

# `make run` installs the app without the test extras (pytest, playwright, …); `make test`
# installs `.[test]`. Each has its own stamp; the test install holds the app too.
install-run: $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -f $(STAMP) || $(BIN)/python -m pip install --quiet --upgrade pip
	test -f $(STAMP) || $(BIN)/python -m pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

translations: $(MO)

$(MO): $(PO) $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d wijkbudget/translations -D messages

# the catalogue for `make run` (Babel comes with the app; no test extras needed)
run-translations: $(RUN_STAMP)
	test $(MO) -nt $(PO) || $(BIN)/pybabel compile --use-fuzzy -d wijkbudget/translations -D messages

# after changing UI text: collect the Dutch source texts and add them to the English catalogue
# (tests/test_i18n.py fails while a text has no English translation)
i18n: extract-messages

extract-messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o wijkbudget/translations/messages.pot .
	$(BIN)/pybabel update -i wijkbudget/translations/messages.pot -d wijkbudget/translations -l en --no-fuzzy-matching

db-upgrade: install
	$(BIN)/flask db upgrade

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
