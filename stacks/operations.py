"""The operations layer of the platform (SPEC §6.5, §7, §9): the notifications topic,
CloudWatch alarms, monitoring, log shipping and the account's audit trail."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.cluster.eks import Cluster
from components.cluster.platform_namespaces import PLATFORM_NAMESPACES
from components.conventions import GPU_TOLERATION
from components.iam import arn, partition
from components.operations.audit import Audit, AuditArgs
from components.operations.cache_events import CacheEvents, CacheEventsArgs
from components.operations.cloudwatch_alarms import (
    ALB_5XX,
    AURORA_CPU,
    REDIS_CPU_CREDITS,
    REDIS_EVICTIONS,
    REDIS_REPLICATION_LAG,
    SERVERLESS_EVICTIONS,
    SERVERLESS_THROTTLED,
    burstable,
    metric_alarm,
    metrics_insights_alarm,
    serverless_usage_alerts,
)
from components.operations.log_shipping import LogShipping, LogShippingArgs
from components.operations.monitoring import Monitoring, MonitoringArgs
from components.operations.notifications import Notifications, NotificationsArgs
from infra.config import PROJECT, PlatformSettings, RedisMode, StackConfig
from infra.naming import Naming
from stacks.contract import PlatformOutputs
from stacks.data import PlatformData, account_id
from stacks.tagging import child_options

# Created with the cluster (components.cluster.platform_namespaces.PLATFORM_NAMESPACES).
MONITORING_NAMESPACE = "monitoring"
# The cluster's encrypted gp3 class (components.cluster.eks).
STORAGE_CLASS = "gp3"


def cache_events_rule(environment: str) -> str:
    """The EventBridge rule an environment's serverless cache reports through: named here
    for both sides, the environment that makes it and the platform whose topic admits it."""
    return Naming(environment).name("redis-events")


def build_environment_alarms(
    config: StackConfig, platform: PlatformOutputs, provider: aws.Provider
) -> None:
    """On each node of an ElastiCache group (the metrics are per node): evictions, the CPU
    credits of a burstable node type, and SPEC §7's replication lag where there is a
    replica (whichever node is primary reports none, which is not a breach); on a
    Serverless cache, its own four and the rule that forwards its events (it names no SNS
    topic). In-cluster Redis (previews) has no CloudWatch metrics."""
    settings = config.environment
    if settings is None or settings.redis.mode is RedisMode.IN_CLUSTER:
        return
    redis = settings.redis
    naming = Naming(config.stack)
    if redis.mode is RedisMode.SERVERLESS:
        # One cache, no nodes: evictions, throttling and the usage limits coming near.
        cache_name = naming.name("redis")  # stacks.environment_data
        usage = serverless_usage_alerts(redis.max_data_gb, redis.max_ecpu_per_second)
        for alert in [SERVERLESS_EVICTIONS, SERVERLESS_THROTTLED, *usage]:
            metric_alarm(
                f"{cache_name}-{alert.name}",
                alert,
                cache_name,
                platform.operations_topic_arn,
                child_options(provider),
            )
        CacheEvents(
            f"{cache_name}-events",
            CacheEventsArgs(
                rule_name=cache_events_rule(config.stack),
                cache_name=cache_name,
                topic_arn=platform.operations_topic_arn,
            ),
            opts=child_options(provider),
        )
        return
    alerts = [REDIS_EVICTIONS]
    if burstable(redis.node_type):
        alerts.append(REDIS_CPU_CREDITS)
    if redis.mode is RedisMode.REPLICATED:
        alerts.append(REDIS_REPLICATION_LAG)
    group_id = naming.name("redis")  # the replication group's id (stacks.environment_data)
    for node in range(1, redis.replicas + 2):
        node_id = f"{group_id}-{node:03d}"
        for alert in alerts:
            metric_alarm(
                f"{node_id}-{alert.name}",
                alert,
                node_id,
                platform.operations_topic_arn,
                child_options(provider),
            )


def build_notifications(config: StackConfig, provider: aws.Provider) -> Notifications:
    """Built first: the data layer's backups report to it."""
    if config.platform is None:
        raise ValueError(f"stack {config.stack} has no platform configuration")
    naming = Naming(config.stack)
    account = account_id(provider)
    # Each long-lived environment's rule, by name: one whose cache is node-based makes
    # none, and a rule that does not exist publishes nothing.
    rule_arns = [
        arn(
            partition(provider),
            "events",
            f"rule/{cache_events_rule(environment)}",
            region=config.region,
            account=account,
        )
        for environment in sorted(config.platform.environments)
    ]
    return Notifications(
        naming.name("operations"),
        NotificationsArgs(
            topic_name=naming.name("operations"),
            account_id=account,
            emails=config.platform.operations.alert_emails,
            event_rule_arns=rule_arns,
        ),
        # Its key encrypts the alerts' topic: losing it loses the topic.
        opts=pulumi.ResourceOptions(providers=[provider], protect=config.kind.protected or None),
    )


def build_platform_operations(
    config: StackConfig,
    settings: PlatformSettings,
    provider: aws.Provider,
    notifications: Notifications,
    cluster: Cluster,
    data: PlatformData,
    vpc_cidr: str,
    external_secrets_role_arn: pulumi.Input[str],
    external_secrets: pulumi.Resource,
) -> None:
    naming = Naming(config.stack)
    operations = settings.operations
    opts = child_options(provider)
    metric_alarm(
        naming.name(AURORA_CPU.name),
        AURORA_CPU,
        naming.name("aurora"),  # the cluster identifier (stacks.environment_data)
        notifications.topic_arn,
        opts,
    )
    metrics_insights_alarm(naming.name(ALB_5XX.name), ALB_5XX, notifications.topic_arn, opts)
    receivers_secret = aws.secretsmanager.Secret(
        naming.name("alerting"),
        name=naming.name("alerting"),
        description=(
            "Alertmanager receivers: JSON with slack-webhook-url and pagerduty-routing-key "
            "(set the value out of band; never in config)"
        ),
        opts=opts,
    )
    on_cluster = [cluster]  # its namespaces and node group are its children
    cluster_opts = child_options(provider, cluster.kubernetes_provider)
    Monitoring(
        naming.name("monitoring"),
        MonitoringArgs(
            cluster_name=cluster.cluster_name,
            region=config.region,
            vpc_cidr=vpc_cidr,
            namespace=MONITORING_NAMESPACE,
            scrape_interval_seconds=operations.scrape_interval_seconds,
            retention_days=operations.retention_days,
            storage_gi=operations.storage_gi,
            storage_class=STORAGE_CLASS,
            slack_channel=operations.slack_channel,
            sns_topic_arn=notifications.topic_arn,
            sns_key_arn=notifications.key_arn,
            receivers_secret_name=receivers_secret.name,
            external_secrets_role_arn=external_secrets_role_arn,
            platform_namespaces=[*PLATFORM_NAMESPACES, "kube-system"],
            # Its SecretStore and ExternalSecret need External Secrets' CRDs and webhook.
            depends_on=[*on_cluster, external_secrets],
        ),
        opts=cluster_opts,
    )
    LogShipping(
        naming.name("logs"),
        LogShippingArgs(
            cluster_name=cluster.cluster_name,
            namespace=MONITORING_NAMESPACE,
            region=config.region,
            log_group_name=f"/pingvas/{config.stack}/pods",
            retention_days=operations.pod_log_retention_days,
            logs_bucket_name=data.logs_bucket_name,
            tolerations=[GPU_TOLERATION],
            depends_on=on_cluster,
        ),
        opts=cluster_opts,
    )
    Audit(
        naming.name("audit"),
        AuditArgs(
            trail_name=naming.name("trail"),
            logs_bucket_name=data.logs_bucket_name,
            monthly_budget_usd=operations.monthly_budget_usd,
            budget_name=naming.name("monthly"),
            project=PROJECT,
            emails=operations.alert_emails,
            topic_arn=notifications.topic_arn,
        ),
        opts=opts,
    )
