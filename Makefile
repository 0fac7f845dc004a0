# Two entry points for a fresh machine:
#   make notebook   start the daemon, build the default image if missing, run a notebook
#   make test       install everything the tests need and run the whole suite
# Both install Debian's docker.io and start dockerd when no Docker engine answers
# and the host is Debian run as root.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FRAMEWORK ?= pytorch
EDITOR ?= jupyterlab
# The system's CA bundle lets image builds reach PyPI and npm behind a TLS-inspecting proxy.
CA_BUNDLE ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
PYTEST_ARGS ?=

.PHONY: notebook test unit lint venv host test-host

$(BIN)/localai: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

venv: $(BIN)/localai

host:
	scripts/ensure-docker
	scripts/ensure-host-packages debootstrap

# The browser tests drive Debian's Chromium; the isolation tests read addresses with ip.
test-host: host
	scripts/ensure-host-packages chromium ip:iproute2

notebook: venv host
	LOCALAI_CA_BUNDLE=$(CA_BUNDLE) FRAMEWORK=$(FRAMEWORK) EDITOR=$(EDITOR) \
		PATH=$(abspath $(BIN)):$$PATH scripts/quickstart

test: venv test-host
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: venv
	$(BIN)/python -m pytest -m "not integration" $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check localai tests
	$(BIN)/mypy
