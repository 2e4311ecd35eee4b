# gatewright: two commands do all the set-up.
#   make demo   compile samples/petstore, start its backend and gateway, call them through the SDK
#   make test   the whole test suite (installs what it needs: a venv, redis-server)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TYPECHECK := .typecheck/gatewright

.PHONY: help install test test-fast typecheck lint demo bench fuzz golden clean system-deps browser-deps bench-deps

help:
	@echo "make demo       compile the petstore sample and run it end to end"
	@echo "make test       run the whole test suite (installs dependencies first)"
	@echo "make bench      run the benchmarks (prints ratios measured in one run)"
	@echo "make typecheck  mypy --strict on compiler, runtime and generated golden code"
	@echo "make lint       ruff"
	@echo "make fuzz       schemathesis against generated gateways and the compiler fuzzer"
	@echo "make golden     regenerate the golden files after an intended change"

$(STAMP): pyproject.toml
	@if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then \
		echo "installing python3-venv"; apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; fi
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) $(TYPECHECK)

$(TYPECHECK):
	@mkdir -p $(TYPECHECK)
	@ln -sfn ../../compiler $(TYPECHECK)/compiler
	@ln -sfn ../../runtime $(TYPECHECK)/runtime
	@ln -sfn ../../templates $(TYPECHECK)/templates

# Installs the Debian packages named in $(1) whose command of the same name is missing.
define ensure_packages
	@missing=""; \
	for name in $(1); do command -v $$name >/dev/null || missing="$$missing $$name"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

# Debian packages the tests and benchmarks use; installed only when missing.
system-deps:
	$(call ensure_packages,redis-server wrk)

# valgrind counts instructions per request for bench/proxy_instructions.py
bench-deps:
	$(call ensure_packages,valgrind)

# chromium and playwright-core for the real-browser CORS test
browser-deps:
	@sh tests/browser/ensure_browser.sh

typecheck: install
	MYPYPATH=.typecheck $(PY) -m mypy -p gatewright.compiler -p gatewright.runtime
	$(PY) tests/golden/typecheck.py

lint: install
	$(PY) -m ruff check compiler runtime tests bench samples

test: install system-deps browser-deps
	$(PY) -m pytest -q --durations=15
	$(MAKE) --no-print-directory typecheck lint

test-fast: install
	$(PY) -m pytest -q -x -m "not slow"

demo: install
	$(PY) samples/petstore/demo.py

bench: install system-deps bench-deps
	$(PY) bench/run_all.py

# property-based API fuzzing (schemathesis, >= 5,000 cases) and the compiler fuzzer
# (>= 2,000 mutations of corpus specs); FUZZ_SECONDS bounds the API part
fuzz: install system-deps
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} $(PY) tests/fuzz/run_schemathesis.py --min-cases 5000
	$(PY) tests/fuzz/run_compiler_fuzz.py --mutations 2000

golden: install
	$(PY) tests/golden/regen.py

clean:
	rm -rf $(VENV) .typecheck .mypy_cache .ruff_cache .pytest_cache .demo out build dist *.egg-info
