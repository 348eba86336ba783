"""The environment's data layer (issue 3), composed here so that `environment.py` makes
one call: the database access (in-cluster PostgreSQL for pr-<N>), Redis, the images bucket
and its CDN (none for pr-<N>), and the application's secrets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.conventions import ANYWHERE, ON_PREVIEW_NODES, Placement
from components.data.bucket import (
    Bucket,
    BucketArgs,
    LifecycleRule,
    ReadGrant,
)
from components.data.database_access import RDS_CA_BUNDLE, DatabaseAccess, DatabaseAccessArgs
from components.data.in_cluster_redis import InClusterRedis, InClusterRedisArgs
from components.data.managed_redis import ManagedRedis, ManagedRedisArgs, ManagedRedisMode
from components.data.postgres import InClusterPostgres, InClusterPostgresArgs
from components.data.redis import RedisStore
from components.data.serverless_redis import ServerlessRedis, ServerlessRedisArgs
from components.edge.cdn import ImageCdn, ImageCdnArgs
from components.edge.url_signing import UrlSigningKey
from components.endpoints import DatabaseEndpoint, RedisEndpoint
from components.environment.app_secrets import AppSecrets, AppSecretsArgs
from infra.config import PROJECT, SUPPLIED_SECRETS, RedisMode, StackConfig
from infra.config_checks import missing_redis_security_group, missing_schema_owner
from infra.naming import Naming
from stacks.contract import PlatformOutputs
from stacks.data import DATABASE_NAME, bucket_name, stateful_options

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
        pulumi.export("databaseWorkerRole", self.database.worker_user)
        pulumi.export("databaseWorkerSecretArn", self.database.worker_secret_arn)
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


def pod_placement(config: StackConfig) -> Placement:
    """A preview's pods run on the preview node pools only (issue 22, item 6)."""
    return ON_PREVIEW_NODES if config.is_ephemeral else ANYWHERE


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

    on_cluster = pulumi.ResourceOptions(providers=[provider, kubernetes_provider])
    database, postgres = _database(config, platform, namespace, opts, on_cluster)

    redis: RedisStore
    if settings.redis.mode is RedisMode.IN_CLUSTER:
        redis = InClusterRedis(
            naming.name("redis"),
            InClusterRedisArgs(
                namespace=namespace,
                placement=pod_placement(config),
                engine=settings.redis.engine,
            ),
            opts=on_cluster,
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
    namespace: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    on_cluster: pulumi.ResourceOptions,
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
                placement=pod_placement(config),
                database_name=DATABASE_NAME,
                master_secret_name=naming.name("postgres-master"),
            ),
            opts=on_cluster,
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
            worker_secret_name=naming.name("database-worker"),
            writer_endpoint=writer,
            reader_endpoint=reader,
            port=port,
            database_name=database_name,
            owner_secret_arn=owner_secret_arn,
            recovery_window_days=0 if config.is_ephemeral else 7,
            # A preview's own server has no certificate a client could check (decision 0108).
            server_ca_file=None if server is not None else RDS_CA_BUNDLE,
        ),
        opts=opts,
    )
    return database, server


def _elasticache_redis(
    config: StackConfig, platform: PlatformOutputs, opts: pulumi.ResourceOptions
) -> ManagedRedis | ServerlessRedis:
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

    # The platform's `redis-<env>` group either way: the same ingress (the nodes, on 6379).
    security_group_id = pulumi.Output.from_input(platform.security_group_ids).apply(
        security_group_of
    )
    if redis.mode is RedisMode.SERVERLESS:
        # Serverless sends its events (snapshot failed, limit approaching) to EventBridge,
        # not to an SNS topic (decision 0117): the environment's rule forwards them to the
        # operations topic (stacks/operations.py).
        return ServerlessRedis(
            naming.name("redis"),
            ServerlessRedisArgs(
                cache_name=naming.name("redis"),
                secret_name=naming.name("redis"),
                subnet_ids=platform.private_subnet_ids,
                security_group_id=security_group_id,
                engine=redis.engine,
                max_data_gb=redis.max_data_gb,
                max_ecpu_per_second=redis.max_ecpu_per_second,
                snapshot_retention_days=redis.snapshot_retention_days,
                daily_snapshot_time=redis.snapshot_window.split("-")[0],
                recovery_window_days=0 if config.is_ephemeral else 7,
            ),
            opts=opts,
        )
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
            security_group_id=security_group_id,
            availability_zones=platform.availability_zones,
            recovery_window_days=0 if config.is_ephemeral else 7,
            notification_topic_arn=platform.cache_events_topic_arn,
        ),
        opts=opts,
    )
