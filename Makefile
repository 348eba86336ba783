# Two entry points do all the set-up on a fresh machine:
#   make preview   offline preview of every stack (the main job)
#   make test      lint, type check and the whole test suite
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STACKS := shared dev prod pr-7

.PHONY: setup setup-dev system-deps preview preview-base policy iam-lint test dev lock

$(VENV)/bin/python:
	@echo "setup: creating the virtual environment $(VENV)"
	python3 -m venv $(VENV)

# One install per extra, pinned by its lock file (requirements/<extra>.txt): the preview
# needs only the infrastructure, the tests everything (docs/dependencies.md).
# A line per phase: pip is quiet, and a first install downloads for minutes.
$(VENV)/.installed-%: pyproject.toml requirements/%.txt | $(VENV)/bin/python
	@echo "setup: installing the $* extra as requirements/$*.txt pins it (minutes on a first install)"
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -c requirements/$*.txt -e '.[$*]'
	touch $@
	@echo "setup: the $* extra is installed in $(VENV)"

setup: $(VENV)/.installed-infra

setup-dev: $(VENV)/.installed-dev

# Rewrites requirements/*.txt after a change to pyproject.toml; `scripts/lock.sh --upgrade`
# moves every pin to the newest release allowed.
lock: setup-dev
	scripts/lock.sh

# Server processes the application tests start for real (PostgreSQL, Redis).
system-deps:
	scripts/install-system-deps.sh

# PREVIEW_FLAGS: e.g. --json, or "--diff base.json --markdown" (CI's PR comment).
preview: setup
	$(PYTHON) -m tools.preview $(STACKS) $(PREVIEW_FLAGS)

# The committed preview tests/tools/test_preview_base.py holds the program to: regenerate it
# in the commit that changes what the stacks send on purpose.
preview-base: setup
	$(PYTHON) -m tools.preview $(STACKS) --json > tests/tools/data/preview-base.json

# The CrossGuard rules over every stack, offline (CI runs it on each pull request).
policy: setup
	for stack in $(STACKS); do $(PYTHON) -m tools.policy_check $$stack || exit 1; done

# Every IAM document of every stack through parliament (in the dev extra).
iam-lint: setup-dev
	$(PYTHON) -m tools.iam_lint $(STACKS)

# pytest on two workers (pytest-xdist), the cores CI has: 1,386 tests in 239 s where one
# process took 359 s for the 1,171 of the suite before the restructuring (same machine).
test: setup-dev system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -n 2

# The whole application locally: PostgreSQL, Redis, moto S3, the API on :8000 and a
# worker on the tiny model (docs/worker.md). Ctrl-C stops it all.
dev: setup-dev system-deps
	$(PYTHON) scripts/dev.py
