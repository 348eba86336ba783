"""Every baseline and isolation rule catches the violation it exists for and passes its
fix, and skips what a first preview does not know yet."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policy.documents import UNKNOWN
from pulumi_offline import RecordedResource
from tests.policy import baseline_cases, isolation_cases
from tests.support.policy import ROLE_POLICY, found, resource

CASES = [*baseline_cases.CASES, *isolation_cases.CASES]


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
