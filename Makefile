# The two commands of the README: `make demo` and `make test`. Both create .venv when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)

.PHONY: install system-deps demo test check lint format lock bench-profile bench-serving grpc-stubs clean

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch comes from the CPU wheel on this machine's disk; the lock pins it so no CUDA build is pulled.
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

# Debian packages the tests use: PostgreSQL binaries (a throw-away server when none answers on 5432).
system-deps:
	@if ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi

check: install
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench
	$(PY) -m mypy src

format: install
	$(PY) -m ruff check --fix src tests bench
	$(PY) -m ruff format src tests bench

test: install system-deps check
	$(PY) -m pytest -q -p no:cacheprovider

demo: install
	$(PY) examples/demo.py

# Regenerate the V2 gRPC stubs from src/shipyard/serving/proto/grpc_predict_v2.proto (a test checks they match).
grpc-stubs: install
	PYTHON=$(PY) scripts/generate_grpc.sh

bench-profile: install
	$(PY) bench/profile/bench_profile.py

# Creates bench/.venvs/{mlserver,mlflow} on first use; needs wrk (apt-get install wrk).
bench-serving: install
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	python3 bench/serving/run.py

# Re-pin every dependency from the current .venv (run after changing pyproject.toml).
lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^shipyard' > requirements.lock

clean:
	rm -rf $(VENV) .shipyard .pytest_cache .mypy_cache .ruff_cache
