# Berth: `make run` serves the dashboard, `make test` runs the whole suite on a private engine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# The private engine of the tests (scripts/test-engine); never the user's own.
export BERTH_ENGINE_DIR ?= /tmp/berth-engine
TEST_DOCKER_HOST := unix://$(BERTH_ENGINE_DIR)/docker.sock
# The private engines the tests reach over TLS and SSH (scripts/test-remote-engines).
export BERTH_REMOTE_DIR ?= /tmp/berth-remote
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench bench-engines bench-smoke system-deps test-system-deps clean

run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) -m dashboard.serve -b $(HOST) -p $(PORT) dashboard.asgi:application

test: test-system-deps $(VENV)/.installed-dev
	scripts/test-engine start
	scripts/test-registry start || { scripts/test-engine stop; exit 1; }
	scripts/test-remote-engines start || { scripts/test-remote-engines stop; \
	  scripts/test-registry stop; scripts/test-engine stop; exit 1; }
	eval "$$(scripts/test-remote-engines env)" && \
	  BERTH_TEST_DOCKER_HOST=$${BERTH_TEST_DOCKER_HOST:-$(TEST_DOCKER_HOST)} \
	  $(VENV)/bin/pytest tests/unit tests/engine tests/browser; \
	  status=$$?; scripts/test-remote-engines stop; scripts/test-registry stop; \
	  scripts/test-engine stop; exit $$status

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: test-system-deps $(VENV)/.installed-dev
	scripts/test-engine start
	DOCKER_HOST=$(TEST_DOCKER_HOST) $(PY) bench/list_containers.py; \
	  status=$$?; scripts/test-engine stop; exit $$status

# Every benchmark once, in one tiny round, so that none rots: what it prints is no figure.
BENCH_SMOKE := \
	"list_containers.py --count 3 --runs 2 --warmup 0" \
	"list_containers.py --count 3 --runs 2 --warmup 0 --team bench-smoke" \
	"logs_replay.py --lines 200 --runs 1 --warmup 0" \
	"pull_push.py --rounds 1 --layers 1 --megabytes 1" \
	"slow_viewer.py --rate 100 --viewers 2 --slow 1 --seconds 2 --clients 1" \
	"exec_latency.py --samples 20 --warmup 1 --idle 1" \
	"fanout.py --viewers 2 --events 10 --baseline-events 1 --starters 2" \
	"isolation.py --clients 2 --rounds 3 --warmup 0" \
	"engines.py --count 3 --runs 2 --warmup 0" \
	"compose_up.py --services 2 --rounds 1 --warmup 0"

bench-smoke: test-system-deps $(VENV)/.installed-dev
	scripts/test-engine start
	scripts/test-registry start || { scripts/test-engine stop; exit 1; }
	scripts/test-remote-engines start || { scripts/test-remote-engines stop; \
	  scripts/test-registry stop; scripts/test-engine stop; exit 1; }
	eval "$$(scripts/test-remote-engines env)" && \
	status=0; for bench in $(BENCH_SMOKE); do \
	  echo "== bench/$$bench"; \
	  DOCKER_HOST=$(TEST_DOCKER_HOST) $(PY) bench/$$bench || { status=1; echo "FAILED: $$bench"; }; \
	done; scripts/test-remote-engines stop; scripts/test-registry stop; scripts/test-engine stop; \
	exit $$status

# The All engines page on three engines (unix, TLS, SSH) of 300 containers each.
bench-engines: test-system-deps $(VENV)/.installed-dev
	scripts/test-engine start
	scripts/test-remote-engines start || { scripts/test-remote-engines stop; \
	  scripts/test-engine stop; exit 1; }
	eval "$$(scripts/test-remote-engines env)" && \
	  DOCKER_HOST=$(TEST_DOCKER_HOST) $(PY) bench/engines.py; \
	  status=$$?; scripts/test-remote-engines stop; scripts/test-engine stop; exit $$status

# Python's venv module is a separate package on Debian.
system-deps:
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q python3 python3-venv; }

test-system-deps: system-deps
	@missing=""; \
	command -v dockerd >/dev/null || missing="$$missing docker.io"; \
	command -v busybox >/dev/null || missing="$$missing busybox-static"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v ip >/dev/null || missing="$$missing iproute2"; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	command -v htpasswd >/dev/null || missing="$$missing apache2-utils"; \
	command -v curl >/dev/null || missing="$$missing curl"; \
	command -v socat >/dev/null || missing="$$missing socat"; \
	test -x /usr/sbin/sshd || missing="$$missing openssh-server"; \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

$(VENV)/.installed: requirements.txt | system-deps
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
