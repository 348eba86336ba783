# Two entry points do all the set-up on a fresh machine:
#   make preview   offline preview of every stack (the main job)
#   make test      lint, type check and the whole test suite
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STACKS := shared dev prod pr-7

.PHONY: setup system-deps preview test dev

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

# Server processes the application tests start for real (PostgreSQL, Redis).
system-deps:
	scripts/install-system-deps.sh

preview: setup
	$(PYTHON) -m infra.preview $(STACKS)

test: setup system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

# The whole application locally: PostgreSQL, Redis, moto S3, the API on :8000 and a
# worker on the tiny model (docs/worker.md). Ctrl-C stops it all.
dev: setup system-deps
	$(PYTHON) scripts/dev.py
