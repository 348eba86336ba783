"""Log groups that are only kept are Infrequent Access (issue 26, item 5; decision 0114):
flow, WAF and Aurora logs. EKS writes its control-plane logs to the Standard class only
(github.com/aws/containers-roadmap/issues/2277) and the pods' group is the one operators
tail, so both stay Standard. The class cannot change in place: a change is a replacement."""

from __future__ import annotations

import pytest

from tests.support.replacement import planned
from tests.support.stacks import run_stack

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KEPT = {
    "pingvas-shared-flow-logs",
    "pingvas-shared-waf-logs",
    "pingvas-shared-aurora-postgresql-logs",
}


def classes(stack: str) -> dict[str, str]:
    return {
        r.name: r.inputs.get("logGroupClass", "STANDARD")
        for r in run_stack(stack).resources
        if r.type == LOG_GROUP
    }


def test_only_kept_logs_are_infrequent_access() -> None:
    shared = classes("shared")
    assert {name for name, kind in shared.items() if kind == "INFREQUENT_ACCESS"} == KEPT
    assert shared["pingvas-shared-eks-control-plane"] == "STANDARD"
    assert shared["pingvas-shared-logs-pods"] == "STANDARD"
    for stack in ("dev", "prod", "pr-7"):
        assert set(classes(stack).values()) <= {"STANDARD"}, stack


@pytest.mark.parametrize("name", sorted(KEPT))
def test_a_class_change_is_a_replacement_and_retention_an_update(name: str) -> None:
    run = run_stack("shared")
    (group,) = [r for r in run.resources if r.name == name and r.type == LOG_GROUP]
    assert group.delete_before_replace  # named: the old group goes first

    def to_standard(inputs: dict[str, object]) -> None:
        inputs["logGroupClass"] = "STANDARD"

    def longer(inputs: dict[str, object]) -> None:
        inputs["retentionInDays"] = 90

    assert planned(run, name, to_standard, LOG_GROUP) == "replace"
    assert planned(run, name, longer, LOG_GROUP) == "update"
