# Developer entry points. `make` alone lists the targets.
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# Translations kept in locale/ (settings.LANGUAGES without English).
LOCALES ?= de tr zh_Hant

.PHONY: help .venv install install-dev run test bench lint format messages check-deploy backup clean

help: ## List the targets
	@echo "Targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_.-]+:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo "Variables: PYTEST_ARGS (e.g. make test PYTEST_ARGS='-x -k timeline'),"
	@echo "           HOST, PORT (make run), PG_PORT, REDIS_PORT (make test/bench)"

# --- Virtualenv ---------------------------------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install -r requirements-dev.txt
	touch $@ $(VENV)/.installed

.venv: $(VENV)/.installed ## Create .venv and install the runtime requirements

install: $(VENV)/.installed ## Install the runtime requirements into .venv

install-dev: $(VENV)/.installed-dev ## Install runtime + dev/test requirements into .venv

# --- Everyday -------------------------------------------------------------------
run: $(VENV)/.installed ## Run the app locally (migrate, demo data, Celery, runserver)
	scripts/run-dev.sh

# axe-core (accessibility checks in tests/test_every_page_browser.py), pinned in
# tests/browser/package-lock.json and served to the test browser from disk.
AXE := tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund
	touch $@

test: $(VENV)/.installed-dev $(AXE) ## Check module boundaries, then compile the catalogues and run the tests against throwaway PostgreSQL + Redis
	$(BIN)/lint-imports --no-cache
	scripts/with-services.sh sh -c 'DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv -v 0 && exec "$$@"' sh $(BIN)/pytest $(PYTEST_ARGS)

# The import bench runs on a database of its own (a million rows would change the pages').
bench: $(VENV)/.installed-dev ## Run the benchmarks against throwaway PostgreSQL + Redis
	scripts/with-services.sh sh -c '$(BIN)/python -m bench; pages=$$?; $(BIN)/python -m bench.imports --append-results; imports=$$?; [ $$pages -eq 0 ] && [ $$imports -eq 0 ]'

lint: $(VENV)/.installed-dev ## Check code style (ruff) and module boundaries (import-linter)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.installed-dev ## Reformat the code and apply safe ruff fixes
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# DEBUG=1 only so that the settings load without a SECRET_KEY.
messages: $(VENV)/.installed ## Update and compile the translation catalogues (locale/)
	mkdir -p $(foreach lang,$(LOCALES),locale/$(lang)/LC_MESSAGES)
	DEBUG=1 $(BIN)/python manage.py makemessages $(foreach lang,$(LOCALES),-l $(lang)) --ignore=.venv --ignore=staticfiles --ignore=var
	DEBUG=1 $(BIN)/python manage.py compilemessages --ignore=.venv

check-deploy: $(VENV)/.installed ## Run Django's deployment checks with production settings
	DEBUG=0 \
	SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	ALLOWED_HOSTS=crm.example.com \
	BUSINESS_NAME="Example Shop" \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

# DEBUG defaults to 1 as in `make run` (whose database this backs up); in production,
# run `python manage.py backup` with the app's environment (README "Production").
backup: $(VENV)/.installed ## Back up the database and uploaded files into BACKUP_DIR (default var/backups)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py backup

clean: ## Remove local data (var/) and collected static files
	rm -rf var staticfiles
