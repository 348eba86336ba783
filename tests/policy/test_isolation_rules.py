"""Every isolation rule of the pack (issue 12) has a case in
tests/policy/isolation_cases.py, which tests/policy/test_rule_cases.py runs."""

from __future__ import annotations

from policy import isolation_rules as isolation
from tests.policy.isolation_cases import CASES


def test_every_isolation_rule_has_a_case() -> None:
    # Each rule function is named as its policy.
    covered = {case[0].__name__.replace("_", "-") for case in CASES}
    assert {policy.name for policy in isolation.ISOLATION_POLICIES} == covered
