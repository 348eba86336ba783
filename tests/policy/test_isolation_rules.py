"""Every isolation rule of the pack catches the violation it exists for and passes its fix
(issue 12): one failing and one passing case per rule (tests/policy/isolation_cases.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policy import isolation_rules as isolation
from policy.documents import UNKNOWN
from pulumi_offline import RecordedResource
from tests.policy.isolation_cases import CASES
from tests.support.policy import ROLE_POLICY, found, resource


@pytest.mark.parametrize(
    ("rule", "bad", "good"),
    CASES,
    ids=[f"{case[0].__name__}-{index}" for index, case in enumerate(CASES)],
)
def test_each_rule_catches_its_violation_and_passes_the_fix(
    rule: Callable[..., None], bad: RecordedResource, good: RecordedResource
) -> None:
    assert found(rule, bad), f"{rule.__name__} missed {bad.inputs}"
    assert found(rule, good) == []


@pytest.mark.parametrize("rule", [case[0] for case in CASES])
def test_rules_skip_values_unknown_during_a_preview(rule: Callable[..., None]) -> None:
    """A real first `pulumi preview` sends the unknown sentinel: no crash, no guess."""
    unknowns: list[dict[str, Any]] = [
        {"policy": UNKNOWN, "assumeRolePolicy": UNKNOWN},
        {"spec": {}},
        {},
    ]
    for props in unknowns:
        found(rule, resource(ROLE_POLICY, props))


def test_every_isolation_rule_has_a_case() -> None:
    # Each rule function is named as its policy.
    covered = {case[0].__name__.replace("_", "-") for case in CASES}
    assert {policy.name for policy in isolation.ISOLATION_POLICIES} == covered
