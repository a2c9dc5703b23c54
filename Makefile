# The only commands a newcomer needs: install, run, test, bench.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := shelter

.PHONY: install run test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# make run: one process, no reloader, so the in-process scheduler (hold expiry, the
# evening's first proposal) runs once.
run: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --once
	SCHEDULER_ENABLED=1 $(BIN)/flask run --host 127.0.0.1 --port 5000 --no-reload

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m allocator bench
	$(BIN)/python -m bench.pages
	$(BIN)/python -m bench.reports

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis test-artifacts
