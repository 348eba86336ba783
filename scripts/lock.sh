#!/usr/bin/env bash
# Writes the lock files in requirements/ from pyproject.toml (docs/dependencies.md):
# dev.txt (everything the tests need) first, then infra.txt, app.txt and worker.txt
# constrained by it, so one package has one version in every job.
#   scripts/lock.sh              keep existing pins, add or move only what pyproject demands
#   scripts/lock.sh --upgrade    move every pin to the newest release the ranges allow
set -euo pipefail
cd "$(dirname "$0")/.."
compile() {
  CUSTOM_COMPILE_COMMAND="make lock" \
  "${PIP_COMPILE:-.venv/bin/pip-compile}" --quiet --strip-extras \
    --no-emit-index-url --no-emit-find-links \
    "$@" pyproject.toml
}
# A line per phase on stderr: resolving dev.txt downloads and reads every package's
# metadata and takes minutes on a fresh cache.
phase() { echo "lock: $*" >&2; }
phase "requirements/dev.txt (every extra; minutes on a fresh pip cache)"
compile --extra dev --output-file requirements/dev.txt "$@"
for extra in infra app worker; do
  phase "requirements/$extra.txt (within dev.txt's pins)"
  compile --extra "$extra" --constraint requirements/dev.txt --output-file "requirements/$extra.txt"
done
phase "dropping torch's build tag and the project's own path"
# The lock pins torch's release, not its build: the index a job installs from picks the
# build (the CPU wheel for tests and CI, a CUDA wheel for the worker image). pip prefers
# the local-version build (2.13.0+cpu) over the plain release when an index offers it.
sed -i -E 's/^(torch==[0-9.]+)\+[a-z0-9]+/\1/' requirements/*.txt
# The extras name the project itself (`pingvas[app]`); pip-compile then pins it by its
# local path, which no other machine has. The project is installed from its checkout.
for lock in requirements/*.txt; do
  awk '/^pingvas @ /{skip=1; next} skip && /^    #/{next} {skip=0; print}' "$lock" > "$lock.tmp"
  mv "$lock.tmp" "$lock"
done
phase "done: requirements/*.txt written"
