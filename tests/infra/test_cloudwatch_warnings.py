"""Warnings on what only CloudWatch sees: Redis evictions and the CPU credits of burstable
cache nodes (decision 0100) on every node of a node-based ElastiCache cache (dev and prod
run Serverless by default: test_data_serverless.py has its alarms), and the load balancers' own 5xx
across every ALB the controller creates (a Metrics Insights query, since Pulumi does not
name those load balancers)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from components.operations.cloudwatch_alarms import ALB_5XX, burstable
from pulumi_offline import OfflineRun
from tests.support.stacks import NODE_BASED_REDIS, run_stack

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def alarms_by_metric(run: OfflineRun) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for alarm in run.of_type(ALARM):
        inputs = alarm.inputs
        if "metricName" in inputs:
            found.setdefault(inputs["metricName"], set()).add(
                inputs["dimensions"]["CacheClusterId"]
            )
    return found


@pytest.mark.parametrize(("stack", "nodes"), [("dev", 1), ("prod", 2)])
def test_every_cache_node_warns_on_evictions_and_spent_credits(
    stack: str, nodes: int, shared: OfflineRun, stack_with: Callable[..., OfflineRun]
) -> None:
    run = stack_with(stack, NODE_BASED_REDIS[stack])
    expected = {f"pingvas-{stack}-redis-{n:03d}" for n in range(1, nodes + 1)}
    found = alarms_by_metric(run)
    assert found["Evictions"] == expected
    assert found["CPUCreditBalance"] == expected
    for alarm in run.of_type(ALARM):
        inputs = alarm.inputs
        assert inputs["alarmActions"] == [shared.outputs["operationsTopicArn"]]
        if inputs["metricName"] == "CPUCreditBalance":
            assert inputs["comparisonOperator"] == "LessThanThreshold"
            assert inputs["threshold"] == 30
        if inputs["metricName"] == "Evictions":
            assert (inputs["comparisonOperator"], inputs["threshold"]) == (
                "GreaterThanThreshold",
                0,
            )


def test_a_node_type_without_credits_gets_no_credit_alarm(
    stack_with: Callable[..., OfflineRun],
) -> None:
    """Control: a memory-optimised node (no CPU credits) warns on evictions only."""
    node_based = NODE_BASED_REDIS["dev"]["pingvas:redis"]
    run = stack_with("dev", {"pingvas:redis": {**node_based, "nodeType": "cache.r7g.large"}})
    found = alarms_by_metric(run)
    assert "CPUCreditBalance" not in found
    assert found["Evictions"] == {"pingvas-dev-redis-001"}


def test_burstable_node_types() -> None:
    assert [burstable(t) for t in ("cache.t4g.micro", "cache.t3.medium")] == [True, True]
    assert [burstable(t) for t in ("cache.r7g.large", "cache.m7g.large")] == [False, False]


def test_previews_have_no_cloudwatch_cache_metrics() -> None:
    assert run_stack("pr-7").of_type(ALARM) == []


def test_load_balancer_5xx_over_every_alb(shared: OfflineRun) -> None:
    alarm = shared.one(ALARM, "pingvas-shared-alb-5xx")
    (query,) = alarm.inputs["metricQueries"]
    assert query["expression"] == (
        'SELECT SUM(HTTPCode_ELB_5XX_Count) FROM SCHEMA("AWS/ApplicationELB", LoadBalancer)'
    )
    assert query["period"] * alarm.inputs["evaluationPeriods"] == ALB_5XX.minutes * 60
    assert alarm.inputs["datapointsToAlarm"] == alarm.inputs["evaluationPeriods"]
    assert alarm.inputs["alarmActions"] == [shared.outputs["operationsTopicArn"]]
