"""SPEC §7's alerts on metrics only CloudWatch has, as CloudWatch alarms to the operations
SNS topic (which PagerDuty's CloudWatch integration subscribes to for the critical ones),
and the warnings on what only CloudWatch sees of the caches and load balancers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

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
    comparison: str = "GreaterThanThreshold"


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
# The job streams live in the same Redis as the caches: an eviction may drop queued jobs
# (the workers re-enqueue them from PostgreSQL, but late), so any eviction is worth a look.
REDIS_EVICTIONS = CloudWatchAlert(
    name="redis-evictions",
    namespace="AWS/ElastiCache",
    metric="Evictions",
    statistic="Sum",
    threshold=0,
    minutes=5,
    severity="warning",
    spec_row="Redis evicted keys (memory full)",
    dimension="CacheClusterId",
)
# Burstable cache nodes (decision 0100) run at their baseline once the credits are spent.
# 30 credits are 15 minutes of both vCPUs of a t4g.small or t4g.medium at 100 %
# (1 credit = 1 vCPU-minute; https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/burstable-credits-baseline-concepts.html).
REDIS_CPU_CREDITS = CloudWatchAlert(
    name="redis-cpu-credits",
    namespace="AWS/ElastiCache",
    metric="CPUCreditBalance",
    statistic="Minimum",
    threshold=30,
    minutes=15,
    severity="warning",
    spec_row="Redis CPU credit balance < 30 (throttled to baseline soon)",
    dimension="CacheClusterId",
    comparison="LessThanThreshold",
)
# ElastiCache Serverless (decision 0117) publishes per cache, under the `clusterId`
# dimension (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/serverless-metrics-events-redis.html).
# At its usage limits it throttles commands and evicts keys: warned of before it gets there.
SERVERLESS_DIMENSION = "clusterId"
SERVERLESS_EVICTIONS = replace(REDIS_EVICTIONS, dimension=SERVERLESS_DIMENSION)
# Throttled commands: the workload grew faster than Serverless scales, or hit the ECPU limit.
SERVERLESS_THROTTLED = CloudWatchAlert(
    name="redis-throttled",
    namespace="AWS/ElastiCache",
    metric="ThrottledCmds",
    statistic="Sum",
    threshold=0,
    minutes=5,
    severity="warning",
    spec_row="Redis commands throttled (scaling or the ECPU limit)",
    dimension=SERVERLESS_DIMENSION,
)
# The share of a usage limit at which the two alarms below fire.
SERVERLESS_LIMIT_SHARE = 0.8


def serverless_usage_alerts(max_data_gb: int, max_ecpu_per_second: int) -> list[CloudWatchAlert]:
    """Data stored and ECPUs a minute at 80 % of the cache's usage limits."""
    data = CloudWatchAlert(
        name="redis-data-near-limit",
        namespace="AWS/ElastiCache",
        metric="BytesUsedForCache",
        statistic="Maximum",
        threshold=SERVERLESS_LIMIT_SHARE * max_data_gb * 10**9,  # the limit's GB are 10^9 B
        minutes=15,
        severity="warning",
        spec_row=f"Redis data above 80 % of its {max_data_gb} GB limit",
        dimension=SERVERLESS_DIMENSION,
    )
    ecpus = CloudWatchAlert(
        name="redis-ecpu-near-limit",
        namespace="AWS/ElastiCache",
        metric="ElastiCacheProcessingUnits",
        statistic="Sum",
        threshold=SERVERLESS_LIMIT_SHARE * max_ecpu_per_second * PERIOD_SECONDS,
        minutes=5,
        severity="warning",
        spec_row=f"Redis ECPUs above 80 % of its {max_ecpu_per_second:,}/s limit",
        dimension=SERVERLESS_DIMENSION,
    )
    return [data, ecpus]


# What the load balancer itself answers 5xx (no healthy target, target timeout): those
# requests never reach the API, so its http_requests_total cannot count them.
ALB_5XX = CloudWatchAlert(
    name="alb-5xx",
    namespace="AWS/ApplicationELB",
    metric="HTTPCode_ELB_5XX_Count",
    statistic="SUM",
    threshold=0,
    minutes=5,
    severity="warning",
    spec_row="load balancer 5xx every minute",
    dimension="LoadBalancer",
)


def burstable(node_type: str) -> bool:
    """cache.t3.*, cache.t4g.*: the node types that earn and spend CPU credits."""
    return node_type.split(".")[1].startswith("t")


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
        comparison_operator=alert.comparison,
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


def metrics_insights_alarm(
    name: str, alert: CloudWatchAlert, topic_arn: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> aws.cloudwatch.MetricAlarm:
    """One alarm over every resource of the namespace, summed by a Metrics Insights query:
    for resources Pulumi does not name, such as the load balancers the AWS Load Balancer
    Controller creates from Ingresses."""
    # Metrics Insights, not SQL: built from the module's constants only.
    source = f'SCHEMA("{alert.namespace}", {alert.dimension})'
    query = f"SELECT {alert.statistic}({alert.metric}) FROM {source}"  # noqa: S608
    return aws.cloudwatch.MetricAlarm(
        name,
        name=name,
        alarm_description=f"{alert.severity}: {alert.spec_row} for {alert.minutes} min",
        metric_queries=[
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="q1", expression=query, period=PERIOD_SECONDS, return_data=True
            )
        ],
        comparison_operator=alert.comparison,
        threshold=alert.threshold,
        evaluation_periods=alert.minutes,
        datapoints_to_alarm=alert.minutes,
        treat_missing_data="notBreaching",
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        tags={"severity": alert.severity},
        opts=opts,
    )
