# The only commands a newcomer needs: install, run, test, bench.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Compiled catalogues (nb, en): built from the .po files whenever they change.
MO := shelter/translations/nb/LC_MESSAGES/messages.mo shelter/translations/en/LC_MESSAGES/messages.mo
export FLASK_APP := shelter

.PHONY: install run serve scheduler test bench load clean chromium translations

install: $(STAMP) $(MO)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

%/LC_MESSAGES/messages.mo: %/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/python -m shelter.catalogue compile

# make translations: extract every translatable string, update the nb and en catalogues
# (write the bokmål for new strings in shelter/translations/nb/LC_MESSAGES/messages.po), compile.
translations: $(STAMP)
	$(BIN)/python -m shelter.catalogue extract
	$(BIN)/python -m shelter.catalogue compile

# make run: one process, no reloader, so the in-process scheduler (hold expiry, the
# evening's first proposal) runs once. The demo asks nobody for a second factor
# (MFA_REQUIRED_ROLES empty), so the printed passwords log in.
run: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --once
	SCHEDULER_ENABLED=1 MFA_REQUIRED_ROLES= $(BIN)/flask run --host 127.0.0.1 --port 5000 --no-reload

# make serve: the production profile locally: gunicorn (gunicorn.conf.py) against
# DATABASE_URL (default: SQLite in instance/), schema migrated first. No scheduler in the
# web workers: run `make scheduler` (one process) beside it.
serve: install
	mkdir -p instance
	$(BIN)/flask db upgrade
	$(BIN)/gunicorn -c gunicorn.conf.py

scheduler: install
	$(BIN)/flask scheduler

test: install chromium node_modules/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Browser tests drive Debian's chromium (never a downloaded browser); install it if missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests (apt-get, needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# axe-core (npm, pinned in package-lock.json) is injected by the browser tests to check WCAG 2.1 AA.
node_modules/.installed: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

bench: install
	$(BIN)/python -m allocator bench
	$(BIN)/python -m bench.pages
	$(BIN)/python -m bench.reports
	$(BIN)/python -m bench.toronto_run

# make load: gunicorn + PostgreSQL (LOAD_DATABASE_URL, default a fresh shelter_load database
# on 127.0.0.1:5432), 40 clients for 60 s on loopback; prints req/s, latency per route and
# status counts, then checks the booking invariants in SQL.
load: install
	$(BIN)/python -m bench.load $(LOAD_ARGS)

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache .hypothesis test-artifacts
