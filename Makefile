# ICCC — the two commands that matter: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo test lint fmt bench messages lock clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@

demo: install        ## run the live Gurugram demo at http://127.0.0.1:8000
	$(BIN)/iccc demo

test: install        ## the whole suite on SQLite and PostgreSQL, with browser tests
	./scripts/test.sh

lint: install        ## ruff, formatting, mypy, migrations in step with models
	$(BIN)/ruff check src conftest.py
	$(BIN)/ruff format --check src conftest.py
	$(BIN)/mypy src
	ICCC_INSECURE_DEV_KEY=1 $(BIN)/iccc makemigrations --check --dry-run

fmt: install
	$(BIN)/ruff check --fix src conftest.py
	$(BIN)/ruff format src conftest.py

bench: install       ## every benchmark (on DATABASE_URL, default SQLite); figures go in BENCHMARKS.md
	ICCC_INSECURE_DEV_KEY=1 $(BIN)/iccc migrate -v0
	ICCC_INSECURE_DEV_KEY=1 $(BIN)/iccc bench import --rows 100000 --repeat 3
	ICCC_INSECURE_DEV_KEY=1 $(BIN)/iccc bench outreach --agents 50 --repeat 3
	ICCC_INSECURE_DEV_KEY=1 $(BIN)/iccc bench geo --repeat 3
	ICCC_INSECURE_DEV_KEY=1 $(BIN)/iccc bench requests --repeat 3
	ICCC_INSECURE_DEV_KEY=1 $(BIN)/iccc bench insight --repeat 5

messages: install    ## refresh the Hindi catalogue after changing strings (needs gettext)
	cd src/iccc && ICCC_INSECURE_DEV_KEY=1 ../../$(BIN)/iccc makemessages -l hi --ignore 'testing/*'
	cd src/iccc && ICCC_INSECURE_DEV_KEY=1 ../../$(BIN)/iccc compilemessages

lock:                ## re-pin dependencies after editing pyproject.toml
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) var build src/*.egg-info
