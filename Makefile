# Two commands on a fresh clone with only Python 3.11: `make serve` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test test-fast train install install-serve lint format lock clean

# The serving install: base dependencies only (no torch).
$(VENV)/.serve-installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; install Python 3.11 or run with PYTHON=/path/to/python3.11" >&2; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Everything: serving + training + benchmarks + Ray + test tools (one pip command, so torch stays the train extra's pin).
$(VENV)/.all-installed: pyproject.toml $(VENV)/.serve-installed
	$(BIN)/python -m pip install --quiet -e ".[train,bench,ray,dev]"
	touch $@

install-serve: $(VENV)/.serve-installed
install: $(VENV)/.all-installed

serve: $(VENV)/.serve-installed
	PAXCAST_HOST=$(HOST) PAXCAST_PORT=$(PORT) $(BIN)/paxcast serve

# Everything, lint first: what CI runs (.ci/run). pyproject's addopts add --durations=15.
test: lint $(VENV)/.all-installed chromium postgresql
	$(BIN)/python -m pytest -q

# The edit-test loop: skips the tests marked slow, e2e (real server processes) or network.
test-fast: $(VENV)/.all-installed
	$(BIN)/python -m pytest -q -m "not slow and not e2e and not network"

# The shipped models, retrained from data/ with the defaults (what models/ holds; a few minutes each). The general
# models' training pool (tourism + data/general_corpus/, docs/training.md) is built here, never committed.
train: $(VENV)/.all-installed
	$(BIN)/paxcast train --data data/air_passengers.csv --horizon 36 --out models --name air_passengers
	$(BIN)/paxcast train --data data/seoul_subway_daily/seoul_subway_daily.csv.gz --horizon 28 --country KR \
		--out models --name seoul_subway_daily
	$(BIN)/paxcast train --data data/melbourne_pedestrian_hourly/melbourne_pedestrian_hourly.csv.gz --horizon 168 \
		--country AU --subdiv VIC --out models --name melbourne_pedestrian_hourly
	$(BIN)/python data/general_corpus/pool.py --freq monthly --out data/general_corpus/tourism_and_corpus_monthly.csv.gz
	$(BIN)/paxcast train --data data/general_corpus/tourism_and_corpus_monthly.csv.gz --out models --name general_monthly
	$(BIN)/python data/general_corpus/pool.py --freq quarterly --out data/general_corpus/tourism_and_corpus_quarterly.csv.gz
	$(BIN)/paxcast train --data data/general_corpus/tourism_and_corpus_quarterly.csv.gz --out models --name general_quarterly

# The suite never imports bench/ or experiments/: compiling and importing them here (each module's check()
# too) is what keeps a refactor of the product from breaking them silently.
lint: $(VENV)/.all-installed
	$(BIN)/hadolint Dockerfile
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m compileall -q bench experiments
	$(BIN)/python -m bench.imports

# Rewrites files: the formatter, then ruff's safe fixes (import order, pyupgrade).
format: $(VENV)/.all-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The serving image's pinned, hashed dependency set (Dockerfile: serve stage). Run it after
# changing [project] dependencies in pyproject.toml; tests/test_packaging.py checks they agree.
lock: $(VENV)/.all-installed
	$(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" -o deploy/requirements-serve.lock

clean:
	rm -rf $(VENV) $(PEERS_VENV) build dist *.egg-info .pytest_cache

# Benchmarks (bench/perf/; docs/performance.md). bench-http and bench-tuning drive the servers with wrk (Debian package).
.PHONY: bench-model bench-http bench-memory bench-tuning wrk
wrk:
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || { echo "make: wrk not found; install it with: apt-get install -y wrk" >&2; exit 1; }

bench-model: $(VENV)/.all-installed
	$(BIN)/python -m bench.perf.model

bench-http: $(VENV)/.all-installed wrk
	$(BIN)/python -m bench.perf.http

bench-memory: $(VENV)/.all-installed
	$(BIN)/python -m bench.perf.memory

bench-tuning: $(VENV)/.all-installed wrk
	$(BIN)/python -m bench.perf.tuning

# paxcast beside Ray Serve, BentoML and LitServe (bench/peers/, issue 34). The peers live in their own
# virtualenv, .venv-peers, never in .venv: `make install` does not include the peers extra, so the product's
# tests keep their versions. The product's packages are pinned there to the versions .venv has, so paxcast
# runs on the same stack in both. Options: make bench-peers PEERS_ARGS="--seconds 3 --rounds 1".
PEERS_VENV := .venv-peers
PRODUCT_PACKAGES := fastapi|starlette|pydantic|pydantic[-_]core|pydantic[-_]settings|uvicorn|httptools|uvloop|onnxruntime|numpy|orjson|prometheus[-_]client|holidays

$(PEERS_VENV)/.peers-installed: pyproject.toml $(VENV)/.all-installed
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(BIN)/python -m pip freeze --exclude-editable | grep -iE '^($(PRODUCT_PACKAGES))==' > $(PEERS_VENV)/product-pins.txt
	$(PEERS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install --quiet -e ".[peers]" torch==2.13.0 -c $(PEERS_VENV)/product-pins.txt
	touch $@

.PHONY: bench-peers
bench-peers: $(PEERS_VENV)/.peers-installed wrk
	$(PEERS_VENV)/bin/python -m bench.peers $(PEERS_ARGS)

.PHONY: bench-profile
bench-profile: $(VENV)/.all-installed wrk
	$(BIN)/python -m bench.perf.profile

# The web page's browser tests (tests/service/test_page_e2e.py) drive Debian's chromium through
# Playwright (the dev extra; no browser is downloaded). Installed here when root; without it the
# tests skip with the reason, except under CI=true where they fail.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; } || echo "make: chromium not found; install it with: apt-get install -y chromium chromium-driver" >&2

# The store tests (tests/store/, tests/postgres.py) start a throw-away cluster with Debian's initdb and
# pg_ctl (/usr/lib/postgresql/*/bin). Installed here when root; without it the PostgreSQL cases skip with
# the reason, except under CI=true where they fail.
.PHONY: postgresql
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; } || echo "make: postgresql not found; install it with: apt-get install -y postgresql" >&2
