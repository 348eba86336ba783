"""SPEC §7's alerts on metrics only CloudWatch has, as CloudWatch alarms to the operations
SNS topic (which PagerDuty's CloudWatch integration subscribes to for the critical ones)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# CloudWatch evaluates one datapoint per period; `for` = periods x period.
PERIOD_SECONDS = 60


@dataclass(frozen=True)
class CloudWatchAlert:
    name: str
    namespace: str
    metric: str
    statistic: str
    threshold: float
    minutes: int  # SPEC's "for"
    severity: str
    spec_row: str
    dimension: str  # the dimension naming the resource


AURORA_CPU = CloudWatchAlert(
    name="aurora-cpu",
    namespace="AWS/RDS",
    metric="CPUUtilization",
    statistic="Average",
    threshold=90,
    minutes=5,
    severity="critical",
    spec_row="RDS CPU > 90%",
    dimension="DBClusterIdentifier",
)
REDIS_REPLICATION_LAG = CloudWatchAlert(
    name="redis-replication-lag",
    namespace="AWS/ElastiCache",
    metric="ReplicationLag",
    statistic="Maximum",
    threshold=5,
    minutes=2,
    severity="critical",
    spec_row="Redis replication lag > 5 s",
    dimension="CacheClusterId",  # the metric is per node
)


def metric_alarm(
    name: str,
    alert: CloudWatchAlert,
    resource_id: pulumi.Input[str],
    topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    extra_dimensions: Mapping[str, pulumi.Input[str]] | None = None,
) -> aws.cloudwatch.MetricAlarm:
    return aws.cloudwatch.MetricAlarm(
        name,
        name=name,
        alarm_description=f"SPEC §7 ({alert.severity}): {alert.spec_row} for {alert.minutes} min",
        namespace=alert.namespace,
        metric_name=alert.metric,
        statistic=alert.statistic,
        dimensions={alert.dimension: resource_id, **(extra_dimensions or {})},
        comparison_operator="GreaterThanThreshold",
        threshold=alert.threshold,
        period=PERIOD_SECONDS,
        evaluation_periods=alert.minutes,
        datapoints_to_alarm=alert.minutes,
        # No data is not a breach: a paused Serverless cluster reports nothing.
        treat_missing_data="notBreaching",
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        tags={"severity": alert.severity},
        opts=opts,
    )
