"""An environment's Redis (SPEC §4), in one of three modes:

- `replicated` (prod): an ElastiCache replication group, primary + replicas across zones,
  automatic failover and Multi-AZ (the spec's Sentinel), TLS with a generated AUTH
  token, encrypted at rest, daily snapshots;
- `standalone` (dev): one ElastiCache node, TLS, no AUTH;
- `in-cluster` (ephemeral stacks): one Redis pod with append-only persistence in the
  environment's namespace, ready in seconds and gone with the stack.

Every mode gives a connection URL without credentials and a secret holding the URL with
them: a Secrets Manager secret (ElastiCache) or a Kubernetes Secret (in-cluster)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.in_cluster import locked_down_container, non_root_pod, single_pod_store
from infra.config import RedisMode

PORT = 6379
DEFAULT_ENGINE_VERSIONS = {"redis": "7.1", "valkey": "8.0"}
# Redis 7.2 is the last release under the BSD licence; Valkey continues it.
IN_CLUSTER_IMAGES = {"redis": "redis:7.2.7-alpine", "valkey": "valkey/valkey:8.0.2-alpine"}
IN_CLUSTER_UID = 999  # the `redis`/`valkey` user of the official images


@dataclass
class RedisArgs:
    mode: RedisMode
    engine: str = "redis"  # or "valkey"
    engine_version: str | None = None  # DEFAULT_ENGINE_VERSIONS when None
    # --- ElastiCache modes (replicated, standalone)
    replication_group_id: str | None = None
    secret_name: str | None = None
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    security_group_id: pulumi.Input[str] | None = None
    # Nodes go to these zones in turn, the primary to the first.
    availability_zones: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None
    node_type: str = "cache.t4g.medium"
    replicas: int = 0  # besides the primary; replicated mode only
    snapshot_retention_days: int = 7
    snapshot_window: str = "02:00-03:00"
    maintenance_window: str = "sun:06:00-sun:07:00"
    recovery_window_days: int = 7  # of the Secrets Manager secret
    kms_key_arn: pulumi.Input[str] | None = None  # ElastiCache's AWS-managed key when None
    # --- in-cluster mode
    kubernetes_provider: k8s.Provider | None = None
    namespace: pulumi.Input[str] | None = None
    storage_size: str = "1Gi"
    storage_class: str | None = None  # the cluster's default when None


class Redis(pulumi.ComponentResource):
    url: pulumi.Output[str]
    # Replicas answer reads here (replicated mode only).
    reader_url: pulumi.Output[str] | None
    secret_arn: pulumi.Output[str] | None
    kubernetes_secret_name: pulumi.Output[str] | None

    def __init__(
        self, name: str, args: RedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self._check(args)  # before registering anything
        super().__init__("pingvas:data:Redis", name, None, opts)
        self._name = name
        self._args = args
        self.reader_url = None
        self.secret_arn = None
        self.kubernetes_secret_name = None
        if args.mode is RedisMode.IN_CLUSTER:
            self._in_cluster()
        else:
            self._elasticache()
        self.register_outputs(
            {
                "url": self.url,
                "reader_url": self.reader_url,
                "secret_arn": self.secret_arn,
                "kubernetes_secret_name": self.kubernetes_secret_name,
            }
        )

    @staticmethod
    def _check(args: RedisArgs) -> None:
        if args.engine not in DEFAULT_ENGINE_VERSIONS:
            raise ValueError(f"RedisArgs.engine: {args.engine!r} is neither redis nor valkey")
        if args.mode is RedisMode.IN_CLUSTER:
            needed: dict[str, object] = {
                "kubernetes_provider": args.kubernetes_provider,
                "namespace": args.namespace,
            }
        else:
            needed = {
                "replication_group_id": args.replication_group_id,
                "secret_name": args.secret_name,
                "subnet_ids": args.subnet_ids,
                "security_group_id": args.security_group_id,
                "availability_zones": args.availability_zones,
            }
        missing = [key for key, value in needed.items() if value is None]
        if missing:
            raise ValueError(f"RedisArgs: {args.mode.value} mode needs {', '.join(missing)}")
        if args.mode is RedisMode.REPLICATED and args.replicas < 1:
            raise ValueError("RedisArgs: replicated mode needs at least one replica")
        if args.mode is not RedisMode.REPLICATED and args.replicas:
            raise ValueError(f"RedisArgs: {args.mode.value} mode has no replicas")

    # --- ElastiCache -------------------------------------------------------------------

    def _elasticache(self) -> None:
        args = self._args
        assert args.replication_group_id is not None
        assert args.secret_name is not None
        child = pulumi.ResourceOptions(parent=self)
        replicated = args.mode is RedisMode.REPLICATED
        nodes = 1 + args.replicas
        zones = args.availability_zones
        assert zones is not None
        security_group_id = args.security_group_id
        assert security_group_id is not None

        subnet_group = aws.elasticache.SubnetGroup(
            f"{self._name}-subnets",
            name=args.replication_group_id,
            description=f"{args.replication_group_id}: private subnets",
            subnet_ids=args.subnet_ids,
            opts=child,
        )
        auth_token: pulumi.Output[str] | None = None
        if replicated:
            # ElastiCache AUTH tokens allow printable ASCII but not @, " or /: letters
            # and digits only keeps the token URL-safe too.
            token = random.RandomPassword(
                f"{self._name}-auth", length=64, special=False, opts=child
            )
            auth_token = pulumi.Output.secret(token.result)
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
            apply_immediately=False,
            opts=child,
        )

        self.url = pulumi.Output.format("rediss://{0}:{1}/0", group.primary_endpoint_address, PORT)
        credentials = "" if auth_token is None else pulumi.Output.format(":{0}@", auth_token)
        settings: dict[str, pulumi.Input[str]] = {
            "REDIS_URL": pulumi.Output.format(
                "rediss://{0}{1}:{2}/0", credentials, group.primary_endpoint_address, PORT
            )
        }
        if replicated:
            self.reader_url = pulumi.Output.format(
                "rediss://{0}:{1}/0", group.reader_endpoint_address, PORT
            )
            settings["REDIS_READ_URL"] = pulumi.Output.format(
                "rediss://{0}{1}:{2}/0", credentials, group.reader_endpoint_address, PORT
            )
        secret = aws.secretsmanager.Secret(
            self._name,
            name=args.secret_name,
            description=f"{args.replication_group_id}: connection URLs with credentials",
            recovery_window_in_days=args.recovery_window_days,
            opts=child,
        )
        secret_string: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.json_dumps(settings))
        aws.secretsmanager.SecretVersion(
            self._name, secret_id=secret.id, secret_string=secret_string, opts=child
        )
        self.secret_arn = secret.arn

    # --- in-cluster --------------------------------------------------------------------

    def _in_cluster(self) -> None:
        args = self._args
        opts = pulumi.ResourceOptions(parent=self, provider=args.kubernetes_provider)
        namespace = args.namespace
        assert namespace is not None  # checked by _check
        labels = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/part-of": "pingvas"}
        host = pulumi.Output.format("redis.{0}.svc.cluster.local", namespace)

        password: pulumi.Output[str] = pulumi.Output.secret(
            random.RandomPassword(
                f"{self._name}-password",
                length=40,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            ).result
        )
        secret = k8s.core.v1.Secret(
            f"{self._name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="redis", namespace=namespace, labels=labels),
            type="Opaque",
            string_data=pulumi.Output.secret(
                {
                    "REDIS_PASSWORD": password,
                    "REDIS_URL": pulumi.Output.format(
                        "redis://:{0}@{1}:{2}/0", password, host, PORT
                    ),
                }
            ),
            opts=opts,
        )
        single_pod_store(
            self._name,
            server="redis",
            namespace=namespace,
            port=PORT,
            labels=labels,
            pod_spec=self._pod_spec(secret),
            storage_size=args.storage_size,
            storage_class=args.storage_class,
            opts=opts,
        )
        self.url = pulumi.Output.format("redis://{0}:{1}/0", host, PORT)
        self.kubernetes_secret_name = secret.metadata.name

    def _pod_spec(self, secret: k8s.core.v1.Secret) -> k8s.core.v1.PodSpecArgs:
        server = "valkey-server" if self._args.engine == "valkey" else "redis-server"
        probe = k8s.core.v1.ProbeArgs(
            tcp_socket=k8s.core.v1.TCPSocketActionArgs(port=PORT), period_seconds=5
        )
        return k8s.core.v1.PodSpecArgs(
            security_context=non_root_pod(IN_CLUSTER_UID),
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="redis",
                    image=IN_CLUSTER_IMAGES[self._args.engine],
                    # Kubernetes expands $(REDIS_PASSWORD) from the env; it is never in
                    # the pod spec.
                    command=[server],
                    args=[
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "everysec",
                        "--dir",
                        "/data",
                        "--requirepass",
                        "$(REDIS_PASSWORD)",
                    ],
                    env=[
                        k8s.core.v1.EnvVarArgs(
                            name="REDIS_PASSWORD",
                            value_from=k8s.core.v1.EnvVarSourceArgs(
                                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(
                                    name=secret.metadata.name, key="REDIS_PASSWORD"
                                )
                            ),
                        )
                    ],
                    ports=[k8s.core.v1.ContainerPortArgs(name="redis", container_port=PORT)],
                    readiness_probe=probe,
                    liveness_probe=probe,
                    resources=k8s.core.v1.ResourceRequirementsArgs(
                        requests={"cpu": "100m", "memory": "128Mi"},
                        limits={"memory": "512Mi"},
                    ),
                    security_context=locked_down_container(),
                    volume_mounts=[k8s.core.v1.VolumeMountArgs(name="data", mount_path="/data")],
                )
            ],
        )
