"""ElastiCache Redis (or Valkey) for an environment: see components/data/redis.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.data.redis import (
    DEFAULT_ENGINE_VERSIONS,
    PORT,
    TYPE_TOKEN,
    check_engine,
    secret_data,
)
from components.endpoints import RedisEndpoint, SecretReference


class ManagedRedisMode(StrEnum):
    """How ElastiCache runs the Redis: in-cluster Redis is `InClusterRedis`."""

    REPLICATED = "replicated"  # a primary and replicas, automatic failover, Multi-AZ
    STANDALONE = "standalone"  # one node


@dataclass
class ManagedRedisArgs:
    mode: ManagedRedisMode
    replication_group_id: str
    secret_name: str
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    # Nodes go to these zones in turn, the primary to the first.
    availability_zones: pulumi.Input[Sequence[pulumi.Input[str]]]
    engine: str = "redis"  # or "valkey"
    engine_version: str | None = None  # DEFAULT_ENGINE_VERSIONS when None
    node_type: str = "cache.t4g.medium"
    replicas: int = 0  # besides the primary; replicated mode only
    snapshot_retention_days: int = 7
    snapshot_window: str = "02:00-03:00"
    maintenance_window: str = "sun:06:00-sun:07:00"
    recovery_window_days: int = 7  # of the Secrets Manager secret
    kms_key_arn: pulumi.Input[str] | None = None  # ElastiCache's AWS-managed key when None
    # An unencrypted SNS topic told of the group's events, snapshot completion and failure
    # among them (ElastiCache:SnapshotComplete, ElastiCache:SnapshotFailed; SPEC §7).
    notification_topic_arn: pulumi.Input[str] | None = None


class ManagedRedis(pulumi.ComponentResource):
    endpoint: RedisEndpoint

    def __init__(
        self, name: str, args: ManagedRedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self._check(args)  # before registering anything
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._args = args
        self._elasticache()
        self.register_outputs(
            {
                "host": self.endpoint.host,
                "reader_host": self.endpoint.reader_host,
                "secret_arn": self.endpoint.credentials.secrets_manager_arn,
            }
        )

    @staticmethod
    def _check(args: ManagedRedisArgs) -> None:
        check_engine(args.engine)
        if args.mode is ManagedRedisMode.REPLICATED and args.replicas < 1:
            raise ValueError("ManagedRedisArgs: replicated mode needs at least one replica")
        if args.mode is not ManagedRedisMode.REPLICATED and args.replicas:
            raise ValueError(f"ManagedRedisArgs: {args.mode.value} mode has no replicas")

    def _elasticache(self) -> None:
        args = self._args
        child = pulumi.ResourceOptions(parent=self)
        replicated = args.mode is ManagedRedisMode.REPLICATED
        nodes = 1 + args.replicas
        zones = args.availability_zones
        security_group_id = args.security_group_id

        subnet_group = aws.elasticache.SubnetGroup(
            f"{self._name}-subnets",
            name=args.replication_group_id,
            description=f"{args.replication_group_id}: private subnets",
            subnet_ids=args.subnet_ids,
            opts=child,
        )
        # Every mode wants AUTH: a pod that reaches the port (any pod on the nodes the
        # group's security group admits) must still know the token. ElastiCache AUTH
        # tokens allow printable ASCII but not @, " or /: letters and digits only keeps
        # the token URL-safe too.
        token = random.RandomPassword(f"{self._name}-auth", length=64, special=False, opts=child)
        auth_token: pulumi.Output[str] = pulumi.Output.secret(token.result)
        group = aws.elasticache.ReplicationGroup(
            self._name,
            replication_group_id=args.replication_group_id,
            description=f"{args.replication_group_id} ({args.mode.value})",
            engine=args.engine,
            engine_version=args.engine_version or DEFAULT_ENGINE_VERSIONS[args.engine],
            node_type=args.node_type,
            port=PORT,
            num_cache_clusters=nodes,
            preferred_cache_cluster_azs=pulumi.Output.from_input(zones).apply(
                lambda names: [names[index % len(names)] for index in range(nodes)]
            ),
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            subnet_group_name=subnet_group.name,
            security_group_ids=[security_group_id],
            at_rest_encryption_enabled=True,
            kms_key_id=args.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=auth_token,
            snapshot_retention_limit=args.snapshot_retention_days,
            snapshot_window=args.snapshot_window if args.snapshot_retention_days else None,
            final_snapshot_identifier=(
                f"{args.replication_group_id}-final" if args.snapshot_retention_days else None
            ),
            maintenance_window=args.maintenance_window,
            auto_minor_version_upgrade=True,
            notification_topic_arn=args.notification_topic_arn,
            apply_immediately=False,
            opts=child,
        )

        secret = aws.secretsmanager.Secret(
            self._name,
            name=args.secret_name,
            description=f"{args.replication_group_id}: connection URL and AUTH token",
            recovery_window_in_days=args.recovery_window_days,
            opts=child,
        )
        settings = secret_data(group.primary_endpoint_address, tls=True, password=auth_token)
        secret_string: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.json_dumps(settings))
        aws.secretsmanager.SecretVersion(
            self._name, secret_id=secret.id, secret_string=secret_string, opts=child
        )
        self.endpoint = RedisEndpoint(
            host=group.primary_endpoint_address,
            port=PORT,
            tls=True,
            auth=True,
            credentials=SecretReference(secrets_manager_arn=secret.arn),
            reader_host=group.reader_endpoint_address if replicated else None,
        )
