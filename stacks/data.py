"""The platform's data layer (issue 3), composed here so that `platform.py` makes one call:
Aurora, the model store, the shared buckets, ECR and the schema owners; and what both
data layers share (bucket names, protection). The environment's is environment_data.py."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.data.aurora import Aurora, AuroraArgs
from components.data.bucket import (
    Bucket,
    BucketArgs,
    CloudTrailGrant,
    LifecycleRule,
    LoadBalancerLogsGrant,
)
from components.data.model_store import ModelStore, ModelStoreArgs
from components.data.registry import Registry, RegistryArgs
from components.data.schema_owners import SchemaOwners, SchemaOwnersArgs
from components.edge.ingress_class import ALB_ACCESS_LOG_PREFIX
from components.iam import arn, partition
from components.network.vpc import Network
from components.operations.audit import TRAIL_PREFIX
from components.operations.log_shipping import POD_LOGS_PREFIX
from infra.config import PlatformSettings, StackConfig
from infra.naming import Naming
from stacks.compute import PlatformCompute

DATABASE_NAME = "pingvas_saas"  # SPEC §4


def bucket_name(config: StackConfig, provider: aws.Provider, thing: str) -> pulumi.Output[str]:
    """`pingvas-<stack>-<thing>-<suffix>`: unique across AWS, stable per account/region."""
    naming = Naming(config.stack)
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    return identity.account_id.apply(
        lambda account_id: naming.globally_unique(thing, account_id, config.region)
    )


def stateful_options(config: StackConfig, provider: aws.Provider) -> pulumi.ResourceOptions:
    """Options for components that hold data: protected on the platform and in prod."""
    return pulumi.ResourceOptions(providers=[provider], protect=config.kind.protected or None)


@dataclass(frozen=True)
class PlatformData:
    """The shared data layer's outputs (PlatformOutputs fields) and what the platform
    still wires: Aurora's master secret stays inside the platform."""

    aurora_writer_endpoint: pulumi.Output[str]
    aurora_reader_endpoint: pulumi.Output[str]
    aurora_port: pulumi.Output[int]
    aurora_database_name: pulumi.Output[str]
    aurora_master_secret_arn: pulumi.Output[str]
    model_store_file_system_id: pulumi.Output[str]
    model_store_access_point_id: pulumi.Output[str]
    models_bucket_name: pulumi.Output[str]
    logs_bucket_name: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]


def account_id(provider: aws.Provider) -> pulumi.Output[str]:
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    return identity.account_id


def trail_arn(config: StackConfig, provider: aws.Provider) -> pulumi.Output[str]:
    """The platform's CloudTrail trail (components.operations.audit), known before it exists."""
    return arn(
        partition(provider),
        "cloudtrail",
        f"trail/{Naming(config.stack).name('trail')}",
        region=config.region,
        account=account_id(provider),
    )


def build_platform_data(
    config: StackConfig,
    settings: PlatformSettings,
    network: Network,
    provider: aws.Provider,
    notifications_topic_arn: pulumi.Input[str] | None = None,
) -> PlatformData:
    """Builds the shared data layer."""
    naming = Naming(config.stack)
    opts = pulumi.ResourceOptions(providers=[provider])
    stateful = stateful_options(config, provider)
    zones = settings.network.availability_zones
    aurora_settings = settings.aurora
    aurora = Aurora(
        naming.name("aurora"),
        AuroraArgs(
            cluster_identifier=naming.name("aurora"),
            subnet_ids=network.private_subnet_ids,
            security_group_id=network.security_group_ids["rds"],
            availability_zones=zones,
            engine_version=aurora_settings.engine_version,
            database_name=DATABASE_NAME,
            readers=aurora_settings.readers,
            reader_promotion_tier=aurora_settings.reader_promotion_tier,
            min_capacity=aurora_settings.min_capacity,
            max_capacity=aurora_settings.max_capacity,
            seconds_until_auto_pause=aurora_settings.seconds_until_auto_pause,
            backup_retention_days=aurora_settings.backup_retention_days,
            backup_window=aurora_settings.backup_window,
            maintenance_window=aurora_settings.maintenance_window,
            deletion_protection=aurora_settings.deletion_protection,
            final_snapshot=aurora_settings.final_snapshot,
            log_retention_days=aurora_settings.log_retention_days,
            notifications_topic_arn=notifications_topic_arn,
        ),
        opts=stateful,
    )
    store_settings = settings.model_store
    model_store = ModelStore(
        naming.name("models"),
        ModelStoreArgs(
            subnets=dict(zip(zones, network.private_subnet_ids, strict=True)),
            security_group_id=network.security_group_ids["efs"],
            models_bucket_name=bucket_name(config, provider, "models"),
            ia_after_days=store_settings.ia_after_days,
            backup_schedule=store_settings.backup_schedule,
            backup_retention_days=store_settings.backup_retention_days,
            backup_notifications_topic_arn=notifications_topic_arn,
        ),
        opts=stateful,
    )
    logs = Bucket(
        naming.name("logs"),
        BucketArgs(
            bucket_name=bucket_name(config, provider, "logs"),
            lifecycle_rules=[
                *(
                    LifecycleRule(
                        id=f"expire-{prefix.strip('/')}",
                        prefix=prefix,
                        expire_after_days=settings.logs_bucket.expire_after_days,
                        noncurrent_expire_after_days=1,
                    )
                    for prefix in (ALB_ACCESS_LOG_PREFIX, POD_LOGS_PREFIX)
                ),
                # The audit trail outlives operational logs.
                LifecycleRule(
                    id="audit",
                    prefix=f"{TRAIL_PREFIX}/",
                    ia_after_days=30,
                    expire_after_days=settings.operations.audit_log_retention_days,
                    noncurrent_expire_after_days=1,
                ),
            ],
            # The environments' ALBs (their ingress classes log under alb/<group>).
            load_balancer_logs=LoadBalancerLogsGrant(
                region=config.region, prefix=ALB_ACCESS_LOG_PREFIX
            ),
            cloudtrail=CloudTrailGrant(
                prefix=TRAIL_PREFIX,
                trail_arn=trail_arn(config, provider),
                account_id=account_id(provider),
            ),
        ),
        opts=stateful,
    )
    registry_settings = settings.registry
    registry = Registry(
        naming.name("registry"),
        RegistryArgs(
            repositories={image: naming.name(image) for image in registry_settings.repositories},
            keep_images=registry_settings.keep_images,
            untagged_expire_days=registry_settings.untagged_expire_days,
        ),
        opts=opts,
    )
    return PlatformData(
        aurora_writer_endpoint=aurora.writer_endpoint,
        aurora_reader_endpoint=aurora.reader_endpoint,
        aurora_port=aurora.port,
        aurora_database_name=aurora.database_name,
        aurora_master_secret_arn=aurora.master_secret_arn,
        model_store_file_system_id=model_store.file_system_id,
        model_store_access_point_id=model_store.access_point_id,
        models_bucket_name=model_store.models_bucket_name,
        logs_bucket_name=logs.policy_applied_name,
        repository_urls=registry.repository_urls,
    )


def build_schema_owners(
    config: StackConfig,
    settings: PlatformSettings,
    data: PlatformData,
    compute: PlatformCompute,
    provider: aws.Provider,
) -> SchemaOwners:
    """The long-lived environments' schema owners, bootstrapped on the platform's cluster
    with the master secret, which nothing outside this component reads."""
    naming = Naming(config.stack)
    environments = list(settings.environments)
    return SchemaOwners(
        naming.name("schema-owners"),
        SchemaOwnersArgs(
            environments=environments,
            secret_name_prefix=naming.prefix,
            database_name=data.aurora_database_name,
            writer_endpoint=data.aurora_writer_endpoint,
            port=data.aurora_port,
            master_secret_arn=data.aurora_master_secret_arn,
            region=config.region,
            secret_store_controller_role_arn=compute.external_secrets_role_arn,
            recovery_window_days=7,
            # Its namespace (a child of the cluster) and External Secrets' CRDs and webhook.
            depends_on=[compute.cluster, compute.addons.external_secrets],
        ),
        opts=pulumi.ResourceOptions(providers=[provider, compute.cluster.kubernetes_provider]),
    )
