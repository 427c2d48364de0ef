# The two commands of the README: `make demo` and `make test`. Both create .venv when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-12)

.PHONY: install system-deps demo test check lint format lock grpc-stubs clean \
	bench-profile bench-serving bench-drift bench-batch bench-predlog bench-metrics bench-deployments bench-soak

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch comes from the CPU wheel on this machine's disk; the lock pins it so no CUDA build is pulled.
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

install: $(STAMP)

# Debian packages the tests use: PostgreSQL binaries (a throw-away server when none answers on 5432);
# promtool (package prometheus) to check /metrics and the exported alerting rules.
system-deps:
	@if ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; fi
	@command -v promtool >/dev/null || (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null)

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

# 10,000,000 rows × 30 features (~2.4 GB, generated once under bench/results/batch-work/); a logistic
# regression (reading and writing dominate) then boosted trees; MLflow in bench/.venvs/mlflow (made on first use).
bench-batch: install
	python3 bench/batch/run.py --model logreg
	python3 bench/batch/run.py --model hgb

# Per-request cost of the metrics (WorkerMetrics.observe, in process and multiprocess).
bench-metrics: install
	$(PY) bench/metrics/bench_observe.py

# Creates bench/.venvs/{mlserver,mlflow} on first use; needs wrk (apt-get install wrk).
bench-serving: install
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	python3 bench/serving/run.py

# Drift: Shipyard vs Evidently (bench/.venvs/evidently, made on first use) vs a plain scipy pass vs the floor,
# at 100k, 1m and 10m current rows (data generated once under bench/drift/data/). Quick check: --sizes 100k.
bench-drift: install
	$(PY) bench/drift/run.py $(BENCH_DRIFT_ARGS)

# What routing through a deployment costs (direct model, 1 arm, sticky A/B, 200 ms shadow); needs wrk.
bench-deployments: install
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(PY) bench/deployments/run.py $(BENCH_DEPLOYMENTS_ARGS)

# What the prediction log costs the server: logging off vs fast vs durable, interleaved rounds; needs wrk.
bench-predlog: install
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(PY) bench/predlog/run.py $(BENCH_PREDLOG_ARGS)

# Soak (issue 6): 80% of the measured maximum for MINUTES (default 10) minutes, RSS watched; needs wrk.
bench-soak: install
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(PY) bench/soak/run.py --minutes $(or $(MINUTES),10)

# Re-pin every dependency from the current .venv (run after changing pyproject.toml).
lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^shipyard' > requirements.lock

clean:
	rm -rf $(VENV) .shipyard .pytest_cache .mypy_cache .ruff_cache
