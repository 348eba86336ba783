"""Redis (or Valkey) as one pod in the environment's namespace: see components/data/redis.py."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.conventions import ANYWHERE, Placement
from components.data.in_cluster import (
    locked_down_container,
    non_root_pod,
    placement_fields,
    single_pod_store,
)
from components.data.redis import PORT, TYPE_TOKEN, check_engine, secret_data
from components.endpoints import RedisEndpoint, SecretReference

# Redis 7.2 is the last release under the BSD licence; Valkey continues it.
IMAGES = {"redis": "redis:7.2.7-alpine", "valkey": "valkey/valkey:8.0.2-alpine"}
UID = 999  # the `redis`/`valkey` user of the official images


@dataclass
class InClusterRedisArgs:
    namespace: pulumi.Input[str]
    # Where the pod runs (a preview's: the preview node pools).
    placement: Placement = ANYWHERE
    engine: str = "redis"  # or "valkey"
    storage_size: str = "1Gi"
    storage_class: str | None = None  # the cluster's default when None


class InClusterRedis(pulumi.ComponentResource):
    endpoint: RedisEndpoint

    def __init__(
        self, name: str, args: InClusterRedisArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        check_engine(args.engine)  # before registering anything
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name = name
        self._args = args
        self._in_cluster()
        self.register_outputs(
            {
                "host": self.endpoint.host,
                "kubernetes_secret_name": self.endpoint.credentials.kubernetes_secret_name,
            }
        )

    def _in_cluster(self) -> None:
        args = self._args
        opts = pulumi.ResourceOptions(parent=self)
        namespace = args.namespace
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
            string_data=pulumi.Output.secret(secret_data(host, tls=False, password=password)),
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
        self.endpoint = RedisEndpoint(
            host=host,
            port=PORT,
            # Inside the namespace only (its NetworkPolicies); the password guards it.
            tls=False,
            auth=True,
            credentials=SecretReference(kubernetes_secret_name=secret.metadata.name),
        )

    def _pod_spec(self, secret: k8s.core.v1.Secret) -> k8s.core.v1.PodSpecArgs:
        server = "valkey-server" if self._args.engine == "valkey" else "redis-server"
        probe = k8s.core.v1.ProbeArgs(
            tcp_socket=k8s.core.v1.TCPSocketActionArgs(port=PORT), period_seconds=5
        )
        return k8s.core.v1.PodSpecArgs(
            **placement_fields(self._args.placement),
            security_context=non_root_pod(UID),
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="redis",
                    image=IMAGES[self._args.engine],
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
