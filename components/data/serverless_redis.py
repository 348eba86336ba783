"""ElastiCache Serverless (Valkey) for an environment (decision 0117): see
components/data/redis.py.

No nodes to size or fail over: AWS keeps the data in three zones behind one endpoint and
bills data stored and ECPUs. The server speaks only the cluster protocol and only TLS, so
the endpoint says `cluster=True` and the app and KEDA follow slots (app/core/redis_clients.py,
the chart's `redis.cluster`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.data.redis import PORT, TYPE_TOKEN, check_engine, secret_data
from components.endpoints import RedisEndpoint, SecretReference

# The major versions Serverless runs (`major_engine_version`; minor versions are AWS's
# choice): https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/engine-versions.html
DEFAULT_MAJOR_VERSIONS = {"redis": "7", "valkey": "8"}
# A user group must hold a user named `default` (AWS::ElastiCache::UserGroup, UserIds):
# giving that user the password keeps AUTH with a password alone, as the node-based
# caches' AUTH token does, so the secret's URL and KEDA's REDIS_PASSWORD keep their shape.
DEFAULT_USER = "default"
# Every key, channel and command: the app's queue, caches and rate limits share the cache.
ACCESS_STRING = "on ~* &* +@all"


@dataclass
class ServerlessRedisArgs:
    cache_name: str  # also the user group's id and the prefix of the user's
    secret_name: str
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    engine: str = "valkey"
    major_engine_version: str | None = None  # DEFAULT_MAJOR_VERSIONS when None
    # Usage limits: what a runaway can cost at most (decision 0117).
    max_data_gb: int = 1
    max_ecpu_per_second: int = 5_000
    snapshot_retention_days: int = 7
    daily_snapshot_time: str = "02:00"  # UTC, HH:MM
    recovery_window_days: int = 7  # of the Secrets Manager secret
    kms_key_arn: pulumi.Input[str] | None = None  # ElastiCache's AWS-managed key when None


class ServerlessRedis(pulumi.ComponentResource):
    endpoint: RedisEndpoint

    def __init__(
        self, name: str, args: ServerlessRedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check_engine(args.engine)  # before registering anything
        super().__init__(TYPE_TOKEN, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Letters and digits: URL-safe, and within ElastiCache's 16-128 printable characters.
        token = random.RandomPassword(f"{name}-auth", length=64, special=False, opts=child)
        password: pulumi.Output[str] = pulumi.Output.secret(token.result)
        user = aws.elasticache.User(
            f"{name}-default",
            user_id=f"{args.cache_name}-default",
            user_name=DEFAULT_USER,
            engine=args.engine,
            access_string=ACCESS_STRING,
            authentication_mode=aws.elasticache.UserAuthenticationModeArgs(
                type="password", passwords=[password]
            ),
            opts=child,
        )
        users = aws.elasticache.UserGroup(
            name,
            user_group_id=args.cache_name,
            engine=args.engine,
            user_ids=[user.user_id],
            opts=child,
        )
        cache = aws.elasticache.ServerlessCache(
            name,
            name=args.cache_name,
            description=f"{args.cache_name} (serverless)",
            engine=args.engine,
            major_engine_version=(args.major_engine_version or DEFAULT_MAJOR_VERSIONS[args.engine]),
            subnet_ids=args.subnet_ids,
            security_group_ids=[args.security_group_id],
            user_group_id=users.user_group_id,
            kms_key_id=args.kms_key_arn,
            cache_usage_limits=aws.elasticache.ServerlessCacheCacheUsageLimitsArgs(
                data_storage=aws.elasticache.ServerlessCacheCacheUsageLimitsDataStorageArgs(
                    maximum=args.max_data_gb, unit="GB"
                ),
                ecpu_per_seconds=[
                    aws.elasticache.ServerlessCacheCacheUsageLimitsEcpuPerSecondArgs(
                        maximum=args.max_ecpu_per_second
                    )
                ],
            ),
            snapshot_retention_limit=args.snapshot_retention_days,
            daily_snapshot_time=args.daily_snapshot_time,
            opts=child,
        )
        host = cache.endpoints.apply(lambda endpoints: endpoints[0].address)

        secret = aws.secretsmanager.Secret(
            name,
            name=args.secret_name,
            description=f"{args.cache_name}: connection URL and password",
            recovery_window_in_days=args.recovery_window_days,
            opts=child,
        )
        settings = secret_data(host, tls=True, password=password)
        secret_string: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.json_dumps(settings))
        aws.secretsmanager.SecretVersion(
            name, secret_id=secret.id, secret_string=secret_string, opts=child
        )
        self.endpoint = RedisEndpoint(
            host=host,
            port=PORT,
            tls=True,
            auth=True,
            credentials=SecretReference(secrets_manager_arn=secret.arn),
            cluster=True,
        )
        self.register_outputs({"host": host, "secret_arn": secret.arn})
