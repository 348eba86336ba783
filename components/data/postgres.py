"""PostgreSQL in the environment's namespace, for ephemeral `pr-<N>` stacks (issue 17).

A preview never touches the shared Aurora cluster: it runs its own small PostgreSQL
(the same major version as Aurora), ready in seconds and gone with the stack. The
server speaks TLS with a key made at each start and stores and accepts SCRAM passwords
only; clients use `sslmode=require` with `channel_binding=require` (decision 0108: the
certificate is not checked, the SCRAM exchange is bound to the channel); its data lives
on a small volume that is deleted with the StatefulSet.

The superuser's credentials go into a Secrets Manager secret shaped like Aurora's
RDS-managed master secret (`username`, `password`), so the app's migration hook creates
the application role and schema here exactly as it does on Aurora.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.conventions import ANYWHERE, Placement
from components.data.in_cluster import (
    locked_down_container,
    non_root_pod,
    placement_fields,
    single_pod_store,
)

PORT = 5432
# Aurora's default engine is PostgreSQL 16 (infra/config.py): previews run the same major.
IMAGE = "postgres:16.8-bookworm"
UID = 999  # the `postgres` user of the official image
SUPERUSER = "postgres"
SERVICE_NAME = "postgres"
DATA_DIR = "/var/lib/postgresql/data"


@dataclass
class InClusterPostgresArgs:
    namespace: pulumi.Input[str]
    database_name: str
    # Secrets Manager name of the superuser's secret.
    master_secret_name: str
    # Where the pod runs (a preview's: the preview node pools).
    placement: Placement = ANYWHERE
    recovery_window_days: int = 0  # the name is free again as soon as the stack is gone
    storage_size: str = "1Gi"
    storage_class: str | None = None  # the cluster's default when None


class InClusterPostgres(pulumi.ComponentResource):
    host: pulumi.Output[str]
    port: int
    master_secret_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: InClusterPostgresArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:data:InClusterPostgres", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        on_cluster = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/name": "postgres", "app.kubernetes.io/part-of": "pingvas"}

        password: pulumi.Output[str] = pulumi.Output.secret(
            random.RandomPassword(f"{name}-password", length=40, special=False, opts=child).result
        )
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=SERVICE_NAME, namespace=args.namespace, labels=labels
            ),
            type="Opaque",
            string_data=pulumi.Output.secret({"POSTGRES_PASSWORD": password}),
            opts=on_cluster,
        )
        master = aws.secretsmanager.Secret(
            f"{name}-master",
            name=args.master_secret_name,
            description=f"Superuser of the in-cluster PostgreSQL of {args.master_secret_name}",
            recovery_window_in_days=args.recovery_window_days,
            opts=child,
        )
        # Shaped like Aurora's RDS-managed master secret, which the migration hook reads.
        credentials: pulumi.Output[str] = pulumi.Output.secret(
            pulumi.Output.json_dumps({"username": SUPERUSER, "password": password})
        )
        aws.secretsmanager.SecretVersion(
            f"{name}-master", secret_id=master.id, secret_string=credentials, opts=child
        )
        single_pod_store(
            name,
            server=SERVICE_NAME,
            namespace=args.namespace,
            port=PORT,
            labels=labels,
            pod_spec=self._pod_spec(secret),
            storage_size=args.storage_size,
            storage_class=args.storage_class,
            opts=on_cluster,
        )
        self.host = pulumi.Output.format("{0}.{1}.svc.cluster.local", SERVICE_NAME, args.namespace)
        self.port = PORT
        self.master_secret_arn = master.arn
        self.register_outputs({"host": self.host, "master_secret_arn": self.master_secret_arn})

    def _pod_spec(self, secret: k8s.core.v1.Secret) -> k8s.core.v1.PodSpecArgs:
        restricted = locked_down_container()
        tls = k8s.core.v1.VolumeMountArgs(name="tls", mount_path="/tls")
        resources = k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": "100m", "memory": "256Mi"}, limits={"memory": "512Mi"}
        )
        probe = k8s.core.v1.ProbeArgs(
            exec_=k8s.core.v1.ExecActionArgs(
                command=["pg_isready", "--host", "127.0.0.1", "--username", SUPERUSER]
            ),
            period_seconds=5,
        )
        return k8s.core.v1.PodSpecArgs(
            **placement_fields(self._args.placement),
            security_context=non_root_pod(UID),
            # A fresh self-signed key per start: traffic is encrypted in transit; the
            # key never leaves the pod.
            init_containers=[
                k8s.core.v1.ContainerArgs(
                    name="tls",
                    image=IMAGE,
                    command=[
                        "openssl",
                        "req",
                        "-x509",
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:prime256v1",
                        "-nodes",
                        "-days",
                        "365",
                        "-subj",
                        f"/CN={SERVICE_NAME}",
                        "-keyout",
                        "/tls/server.key",
                        "-out",
                        "/tls/server.crt",
                    ],
                    resources=resources,
                    security_context=restricted,
                    volume_mounts=[tls],
                )
            ],
            containers=[
                k8s.core.v1.ContainerArgs(
                    name="postgres",
                    image=IMAGE,
                    args=[
                        "-c",
                        "ssl=on",
                        "-c",
                        "ssl_cert_file=/tls/server.crt",
                        "-c",
                        "ssl_key_file=/tls/server.key",
                        "-c",
                        "password_encryption=scram-sha-256",
                    ],
                    env=[
                        k8s.core.v1.EnvVarArgs(
                            name="POSTGRES_PASSWORD",
                            value_from=k8s.core.v1.EnvVarSourceArgs(
                                secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(
                                    name=secret.metadata.name, key="POSTGRES_PASSWORD"
                                )
                            ),
                        ),
                        k8s.core.v1.EnvVarArgs(name="POSTGRES_DB", value=self._args.database_name),
                        # pg_hba.conf's method for every remote connection: SCRAM, which
                        # channel binding needs (the image's default; stated, not assumed).
                        k8s.core.v1.EnvVarArgs(
                            name="POSTGRES_HOST_AUTH_METHOD", value="scram-sha-256"
                        ),
                        # A subdirectory: the volume's root holds lost+found.
                        k8s.core.v1.EnvVarArgs(name="PGDATA", value=f"{DATA_DIR}/pgdata"),
                    ],
                    ports=[k8s.core.v1.ContainerPortArgs(name="postgres", container_port=PORT)],
                    readiness_probe=probe,
                    liveness_probe=probe,
                    resources=resources,
                    security_context=restricted,
                    volume_mounts=[
                        k8s.core.v1.VolumeMountArgs(name="data", mount_path=DATA_DIR),
                        k8s.core.v1.VolumeMountArgs(name="run", mount_path="/var/run/postgresql"),
                        k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),  # noqa: S108
                        tls,
                    ],
                )
            ],
            volumes=[
                k8s.core.v1.VolumeArgs(
                    name=volume, empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="64Mi")
                )
                for volume in ("tls", "run", "tmp")
            ],
        )
