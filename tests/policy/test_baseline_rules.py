"""Every baseline rule of the pack has a case in tests/policy/baseline_cases.py, which
tests/policy/test_rule_cases.py runs."""

from __future__ import annotations

from policy import baseline_rules as baseline
from tests.policy.baseline_cases import CASES


def test_every_baseline_rule_has_a_case() -> None:
    # Each rule function is named as its policy.
    covered = {case[0].__name__.replace("_", "-") for case in CASES}
    assert {policy.name for policy in baseline.BASELINE_POLICIES} == covered - {
        "iam-policies-name-their-actions"
    }
