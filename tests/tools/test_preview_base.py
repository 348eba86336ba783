"""The committed preview of shared, dev, prod and pr-7: a change to the program that is
meant to change nothing (a restructuring, a rename, a split) must preview exactly this.

A change that is meant to change what the stacks send regenerates the base in the same
commit with `make preview-base`, so the PR's diff of `tests/tools/data/preview-base.json`
shows what changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tools import diff
from tools.preview import as_json, preview_stack

BASE = Path(__file__).with_name("data") / "preview-base.json"
STACKS = ("shared", "dev", "prod", "pr-7")


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = json.loads(BASE.read_text())
    return documents


@pytest.mark.parametrize("stack", STACKS)
def test_preview_matches_the_committed_base(stack: str, base: list[dict[str, Any]]) -> None:
    current = as_json(preview_stack(stack))
    committed = diff.base_document(base, stack)
    assert committed is not None, f"{BASE.name} has no {stack}: regenerate it (module docstring)"
    changes = diff.diff(committed, current)
    assert not changes.resources, diff.as_text(changes)
    assert not changes.outputs, diff.as_text(changes)
    # The diff reads URNs, inputs and outputs; the rest of each resource (id, parent,
    # provider, dependencies) must not move either. Registration order is not part of a
    # stack (the engine registers concurrently), so resources compare by URN.
    assert by_urn(current) == by_urn(committed)


def by_urn(document: Mapping[str, Any]) -> dict[str, Any]:
    return {resource["urn"]: resource for resource in document["resources"]}


def test_a_changed_input_is_caught(base: list[dict[str, Any]]) -> None:
    """Control: the comparison above fails when one input of one resource differs."""
    current = as_json(preview_stack("pr-7"))
    committed = diff.base_document(base, "pr-7")
    assert committed is not None
    resource = next(r for r in current["resources"] if r["inputs"])
    key = next(iter(resource["inputs"]))
    resource["inputs"][key] = "changed"
    changes = diff.diff(committed, current)
    assert [change.urn for change in changes.resources] == [resource["urn"]]
