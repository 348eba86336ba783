"""The data layer's part of each stack (issue 3), composed here so that `platform.py` and
`environment.py` each make one call: Aurora, the model store, the shared buckets and ECR
on the platform; per environment the database access (in-cluster PostgreSQL for pr-<N>),
Redis, the images bucket and its CDN (none for pr-<N>), and the application's secrets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.data.aurora import Aurora, AuroraArgs
from components.data.bucket import (
    Bucket,
    BucketArgs,
    CloudTrailGrant,
    LifecycleRule,
    LoadBalancerLogsGrant,
    ReadGrant,
)
from components.data.database_access import DatabaseAccess, DatabaseAccessArgs
from components.data.in_cluster_redis import InClusterRedis, InClusterRedisArgs
from components.data.managed_redis import ManagedRedis, ManagedRedisArgs, ManagedRedisMode
from components.data.model_store import ModelStore, ModelStoreArgs
from components.data.postgres import InClusterPostgres, InClusterPostgresArgs
from components.data.redis import RedisStore
from components.data.registry import Registry, RegistryArgs
from components.data.schema_owners import SchemaOwners, SchemaOwnersArgs
from components.edge.cdn import ImageCdn, ImageCdnArgs
from components.edge.ingress_class import ALB_ACCESS_LOG_PREFIX
from components.edge.url_signing import UrlSigningKey
from components.endpoints import DatabaseEndpoint, RedisEndpoint
from components.environment.app_secrets import AppSecrets, AppSecretsArgs
from components.network.vpc import Network
from components.operations.audit import TRAIL_PREFIX
from components.operations.log_shipping import POD_LOGS_PREFIX
from infra.config import PROJECT, SUPPLIED_SECRETS, PlatformSettings, RedisMode, StackConfig
from infra.config_checks import missing_redis_security_group, missing_schema_owner
from infra.naming import PROTECTED_STACKS, Naming
from stacks.compute import PlatformCompute
from stacks.contract import PlatformOutputs

DATABASE_NAME = "pingvas_saas"  # SPEC §4
IMAGES_PREFIX = "images/"  # what the CDN serves (SPEC §4: GET /images/*)
# Secret config key (EnvironmentSettings field) → the app's variable (app/core/config.py).
SUPPLIED_SECRET_VARIABLES = {
    "lemon_squeezy_api_key": "LEMONSQUEEZY_API_KEY",
    "lemon_squeezy_webhook_secret": "LEMONSQUEEZY_WEBHOOK_SECRET",
    "google_client_secret": "GOOGLE_CLIENT_SECRET",
    "discord_client_secret": "DISCORD_CLIENT_SECRET",
}
assert set(SUPPLIED_SECRET_VARIABLES) == set(SUPPLIED_SECRETS)
# The app's variable holding the CDN's URL-signing private key (app/core/config.py).
CDN_PRIVATE_KEY_VARIABLE = "CLOUDFRONT_PRIVATE_KEY"


def bucket_name(config: StackConfig, provider: aws.Provider, thing: str) -> pulumi.Output[str]:
    """`pingvas-<stack>-<thing>-<suffix>`: unique across AWS, stable per account/region."""
    naming = Naming(config.stack)
    identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=provider))
    return identity.account_id.apply(
        lambda account_id: naming.globally_unique(thing, account_id, config.region)
    )


def stateful_options(config: StackConfig, provider: aws.Provider) -> pulumi.ResourceOptions:
    """Options for components that hold data: protected on the platform and in prod."""
    return pulumi.ResourceOptions(
        providers=[provider], protect=config.stack in PROTECTED_STACKS or None
    )


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
    return pulumi.Output.concat(
        f"arn:aws:cloudtrail:{config.region}:",
        account_id(provider),
        f":trail/{Naming(config.stack).name('trail')}",
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
            min_capacity=aurora_settings.min_capacity,
            max_capacity=aurora_settings.max_capacity,
            seconds_until_auto_pause=aurora_settings.seconds_until_auto_pause,
            backup_retention_days=aurora_settings.backup_retention_days,
            backup_window=aurora_settings.backup_window,
            maintenance_window=aurora_settings.maintenance_window,
            deletion_protection=aurora_settings.deletion_protection,
            final_snapshot=aurora_settings.final_snapshot,
            log_retention_days=aurora_settings.log_retention_days,
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
    environments = list(settings.aurora.schema_owners)
    if config.environment is not None and not config.is_ephemeral:
        # A sandbox (`platform.create`) is the environment of its own platform.
        environments = (
            [*environments, config.stack] if config.stack not in environments else environments
        )
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
            kubernetes_provider=compute.cluster.kubernetes_provider,
            secret_store_controller_role_arn=compute.external_secrets_role_arn,
            recovery_window_days=7,
            depends_on=[compute.addons],
        ),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )


@dataclass(frozen=True)
class CdnOutputs:
    """The image CDN as the app uses it: it signs URLs with the key `key_pair_id` names
    and invalidates a deleted image's path on the distribution."""

    domain_name: pulumi.Output[str]
    distribution_id: pulumi.Output[str]
    distribution_arn: pulumi.Output[str]
    key_pair_id: pulumi.Output[str]


@dataclass(frozen=True)
class EnvironmentData:
    """What the environment's data layer gives the app (and exports), typed."""

    # Data stores running in the namespace (pr-<N>): the app starts once they are ready.
    in_cluster_servers: Sequence[pulumi.Resource]
    # The environment's PostgreSQL; its `owner_secret_arn` is what the migration hook
    # connects as: the platform's schema owner (dev, prod) or, for pr-<N>, the superuser
    # of the stack's own server. Never Aurora's master secret.
    database: DatabaseEndpoint
    redis_mode: RedisMode
    redis: RedisEndpoint
    images_bucket_name: pulumi.Output[str]
    cdn: CdnOutputs | None  # None: no CDN, presigned S3 URLs
    app_secret_arns: dict[str, pulumi.Output[str]]

    @property
    def cdn_domain_name(self) -> pulumi.Output[str] | None:
        return None if self.cdn is None else self.cdn.domain_name

    def export(self) -> None:
        pulumi.export("databaseSchema", self.database.schema)
        pulumi.export("databaseRole", self.database.user)
        pulumi.export("databaseSecretArn", self.database.secret_arn)
        if self.database.owner_secret_arn is not None:
            pulumi.export("databaseOwnerSecretArn", self.database.owner_secret_arn)
        pulumi.export("redisMode", self.redis_mode.value)
        pulumi.export("redisHost", self.redis.host)
        pulumi.export("redisPort", self.redis.port)
        pulumi.export("redisTls", self.redis.tls)
        if self.redis.reader_host is not None:
            pulumi.export("redisReaderHost", self.redis.reader_host)
        credentials = self.redis.credentials
        if credentials.secrets_manager_arn is not None:
            pulumi.export("redisSecretArn", credentials.secrets_manager_arn)
        if credentials.kubernetes_secret_name is not None:
            pulumi.export("redisKubernetesSecret", credentials.kubernetes_secret_name)
        pulumi.export("imagesBucketName", self.images_bucket_name)
        if self.cdn is not None:
            pulumi.export("cdnDomainName", self.cdn.domain_name)
            pulumi.export("cdnDistributionId", self.cdn.distribution_id)
            pulumi.export("cdnKeyPairId", self.cdn.key_pair_id)
        pulumi.export("appSecretArns", self.app_secret_arns)


def build_environment_data(
    config: StackConfig,
    platform: PlatformOutputs,
    provider: aws.Provider,
    kubernetes_provider: k8s.Provider,
    namespace: pulumi.Input[str],
    *,
    cdn_alias: pulumi.Input[str] | None,
    cdn_certificate_arn: pulumi.Input[str] | None,
) -> EnvironmentData:
    """`namespace` (the environment's, on the cluster behind `kubernetes_provider`) hosts
    in-cluster Redis and, for pr-<N>, PostgreSQL; the CDN answers on `cdn_alias` with a
    certificate from us-east-1 (no alias: no CDN)."""
    settings = config.environment
    if settings is None:
        raise ValueError(f"stack {config.stack} is not an environment")
    naming = Naming(config.stack)
    opts = pulumi.ResourceOptions(providers=[provider])
    stateful = stateful_options(config, provider)
    ephemeral = config.is_ephemeral

    database, postgres = _database(config, platform, kubernetes_provider, namespace, opts)

    redis: RedisStore
    if settings.redis.mode is RedisMode.IN_CLUSTER:
        redis = InClusterRedis(
            naming.name("redis"),
            InClusterRedisArgs(
                kubernetes_provider=kubernetes_provider,
                namespace=namespace,
                engine=settings.redis.engine,
            ),
            opts=opts,
        )
    else:
        redis = _elasticache_redis(config, platform, stateful)

    images_settings = settings.images
    # One direction: the bucket, the distribution on it, then the bucket's policy letting
    # that distribution read. Without a CDN (pr-<N>), the app hands out presigned S3 URLs.
    images = Bucket(
        naming.name("images"),
        BucketArgs(
            bucket_name=bucket_name(config, provider, "images"),
            lifecycle_rules=[
                LifecycleRule(
                    id="images",
                    ia_after_days=images_settings.ia_after_days,
                    archive_after_days=images_settings.archive_after_days,
                    archive_storage_class=images_settings.archive_storage_class,
                    expire_after_days=images_settings.expire_after_days,
                    noncurrent_expire_after_days=images_settings.noncurrent_expire_after_days,
                )
            ],
            force_destroy=images_settings.force_destroy,
            readers_later=cdn_alias is not None,
        ),
        opts=stateful,
    )
    cdn_outputs: CdnOutputs | None = None
    derived_secrets: dict[str, pulumi.Input[str]] = {}
    if cdn_alias is not None:
        if cdn_certificate_arn is None:
            raise ValueError(f"stack {config.stack}: the image CDN's alias has no certificate")
        signing_key = UrlSigningKey(naming.name("cdn-signing"), opts=opts)
        derived_secrets[CDN_PRIVATE_KEY_VARIABLE] = signing_key.private_key_pem
        cdn = ImageCdn(
            naming.name("cdn"),
            ImageCdnArgs(
                bucket_regional_domain_name=images.bucket_regional_domain_name,
                path_pattern=f"/{IMAGES_PREFIX}*",
                price_class=settings.cdn.price_class,
                aliases=[cdn_alias],
                certificate_arn=cdn_certificate_arn,
                trusted_key_group_ids=[signing_key.key_group_id],
            ),
            opts=opts,
        )
        images.grant_reads([ReadGrant(distribution_arn=cdn.distribution_arn, prefix=IMAGES_PREFIX)])
        cdn_outputs = CdnOutputs(
            domain_name=cdn.domain_name,
            distribution_id=cdn.distribution_id,
            distribution_arn=cdn.distribution_arn,
            key_pair_id=signing_key.key_pair_id,
        )

    supplied: dict[str, pulumi.Input[str] | None] = {}
    for key, variable in SUPPLIED_SECRET_VARIABLES.items():
        value = getattr(settings, key)
        if value is None and ephemeral:
            # Nobody fills a preview's secret, and External Secrets cannot sync an empty
            # one: the integration is off there (the app answers 503 for payments).
            continue
        supplied[variable] = (
            None if value is None else pulumi.Output.secret(value.get_secret_value())
        )
    secrets = AppSecrets(
        naming.name("secrets"),
        AppSecretsArgs(
            name_prefix=naming.prefix,
            supplied=supplied,
            derived=derived_secrets,
            recovery_window_days=0 if ephemeral else 7,
        ),
        opts=opts,
    )
    in_cluster = [
        server
        for server in (postgres, redis if settings.redis.mode is RedisMode.IN_CLUSTER else None)
        if server is not None
    ]
    return EnvironmentData(
        in_cluster_servers=in_cluster,
        database=database.endpoint,
        redis_mode=settings.redis.mode,
        redis=redis.endpoint,
        images_bucket_name=images.bucket_name,
        cdn=cdn_outputs,
        app_secret_arns=secrets.secret_arns,
    )


def schema_owner_secret_arn(config: StackConfig, platform: PlatformOutputs) -> pulumi.Output[str]:
    """The platform's schema-owner secret for a long-lived environment."""

    def of_this_environment(arns: Mapping[str, Any]) -> str:
        if config.stack not in arns:
            # As for Redis's security group: `pulumi up` prints a RunError's message alone.
            raise pulumi.RunError(
                "invalid stack configuration:\n"
                + missing_schema_owner(PROJECT, config.stack, "the platform stack's config")
            )
        return str(arns[config.stack])

    return pulumi.Output.from_input(platform.schema_owner_secret_arns).apply(of_this_environment)


def _database(
    config: StackConfig,
    platform: PlatformOutputs,
    kubernetes_provider: k8s.Provider,
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
) -> tuple[DatabaseAccess, InClusterPostgres | None]:
    """The environment's schema, role and credentials, and the server if the stack runs
    its own: on the shared Aurora cluster for dev and prod, migrated by the platform's
    schema owner; pr-<N> stacks never touch Aurora and run their own PostgreSQL in their
    namespace, migrated by its superuser."""
    naming = Naming(config.stack)
    server: InClusterPostgres | None = None
    if config.is_ephemeral:
        server = InClusterPostgres(
            naming.name("postgres"),
            InClusterPostgresArgs(
                namespace=namespace,
                kubernetes_provider=kubernetes_provider,
                database_name=DATABASE_NAME,
                master_secret_name=naming.name("postgres-master"),
            ),
            opts=opts,
        )
        writer: pulumi.Input[str] = server.host
        reader: pulumi.Input[str] = server.host
        port: pulumi.Input[int] = server.port
        database_name: pulumi.Input[str] = DATABASE_NAME
        owner_secret_arn: pulumi.Input[str] = server.master_secret_arn
    else:
        writer, reader = platform.aurora_writer_endpoint, platform.aurora_reader_endpoint
        port, database_name = platform.aurora_port, platform.aurora_database_name
        owner_secret_arn = schema_owner_secret_arn(config, platform)
    database = DatabaseAccess(
        naming.name("database"),
        DatabaseAccessArgs(
            environment=config.stack,
            secret_name=naming.name("database"),
            writer_endpoint=writer,
            reader_endpoint=reader,
            port=port,
            database_name=database_name,
            owner_secret_arn=owner_secret_arn,
            recovery_window_days=0 if config.is_ephemeral else 7,
        ),
        opts=opts,
    )
    return database, server


def _elasticache_redis(
    config: StackConfig, platform: PlatformOutputs, opts: pulumi.ResourceOptions
) -> ManagedRedis:
    assert config.environment is not None
    redis = config.environment.redis
    naming = Naming(config.stack)
    group = f"redis-{config.stack}"

    def security_group_of(groups: Mapping[str, Any]) -> str:
        if group not in groups:
            # A RunError ends `pulumi up` with this message alone (a ValueError would be
            # wrapped in a traceback); the offline preview says it before running.
            assert config.environment is not None
            raise pulumi.RunError(
                "invalid stack configuration:\n"
                + missing_redis_security_group(
                    PROJECT, config.stack, config.environment, "the platform stack's config"
                )
            )
        return groups[group]

    return ManagedRedis(
        naming.name("redis"),
        ManagedRedisArgs(
            mode=ManagedRedisMode(redis.mode.value),
            engine=redis.engine,
            engine_version=redis.engine_version,
            node_type=redis.node_type,
            replicas=redis.replicas,
            snapshot_retention_days=redis.snapshot_retention_days,
            snapshot_window=redis.snapshot_window,
            maintenance_window=redis.maintenance_window,
            replication_group_id=naming.name("redis"),
            secret_name=naming.name("redis"),
            subnet_ids=platform.private_subnet_ids,
            security_group_id=pulumi.Output.from_input(platform.security_group_ids).apply(
                security_group_of
            ),
            availability_zones=platform.availability_zones,
            recovery_window_days=0 if config.is_ephemeral else 7,
        ),
        opts=opts,
    )
