"""Per-environment schema owners in the shared Aurora database (issue 12, guarantee 1).

The Aurora master secret (`rds!…`) never leaves the platform. For each long-lived
environment the platform declares (`pingvas:aurora.schemaOwners`), this component
generates the password of `<env>_pingvas_owner`, keeps it in a platform secret the
environment's migrations may read, and runs a bootstrap Job in the platform's
`database-admin` namespace that creates the role and its schema
(components/data/schema_owner.sql) with the master credentials. The environment's
migrations then run as their owner: they create their app role and tables, and can
reach nothing of another environment."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.cluster.secret_store import SECRET_STORE, NamespaceSecretStore, SecretStoreArgs
from components.data.database_access import schema_name

SQL = Path(__file__).with_name("schema_owner.sql")
NAMESPACE = "database-admin"
# psql only; the same major version as the cluster's default engine.
IMAGE = "postgres:16.8-alpine"
UID = 70  # the `postgres` user of the alpine images


def owner_role(environment: str) -> str:
    """`dev` → `dev_pingvas_owner`."""
    return f"{schema_name(environment)}_owner"


@dataclass
class SchemaOwnersArgs:
    environments: Sequence[str]
    # `<prefix>-<env>-schema-owner` names each environment's owner secret.
    secret_name_prefix: str
    database_name: pulumi.Input[str]
    writer_endpoint: pulumi.Input[str]
    port: pulumi.Input[int]
    master_secret_arn: pulumi.Input[str]
    region: str
    # The External Secrets controller's role, which the namespace's store trusts.
    secret_store_controller_role_arn: pulumi.Input[str]
    recovery_window_days: int = 7
    depends_on: Sequence[pulumi.Resource] = ()


@dataclass(frozen=True)
class SchemaOwner:
    role: str
    schema: str
    secret_arn: pulumi.Output[str]


class SchemaOwners(pulumi.ComponentResource):
    # environment → its owner
    owners: dict[str, SchemaOwner]
    # environment → ARN of its owner secret (a platform output)
    secret_arns: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, args: SchemaOwnersArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:data:SchemaOwners", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        self.owners = {}
        for environment in args.environments:
            password = random.RandomPassword(
                f"{name}-{environment}", length=40, special=False, opts=child
            )
            secret = aws.secretsmanager.Secret(
                f"{name}-{environment}",
                name=f"{args.secret_name_prefix}-{environment}-schema-owner",
                description=f"{environment}: owner of schema {schema_name(environment)}",
                recovery_window_in_days=args.recovery_window_days,
                opts=child,
            )
            secret_string: pulumi.Output[str] = pulumi.Output.secret(
                pulumi.Output.json_dumps(
                    {
                        "username": owner_role(environment),
                        "password": password.result,
                        "host": args.writer_endpoint,
                        "port": args.port,
                        "dbname": args.database_name,
                        "schema": schema_name(environment),
                    }
                )
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{environment}",
                secret_id=secret.id,
                secret_string=secret_string,
                opts=child,
            )
            self.owners[environment] = SchemaOwner(
                role=owner_role(environment),
                schema=schema_name(environment),
                secret_arn=secret.arn,
            )
        self.secret_arns = pulumi.Output.all(
            **{environment: owner.secret_arn for environment, owner in self.owners.items()}
        )
        if self.owners:
            self._bootstrap()
        self.register_outputs({"secret_arns": self.secret_arns})

    def _bootstrap(self) -> None:
        """The master credentials and the owners' passwords reach only this namespace's
        Secret, through its own store; the Job applies schema_owner.sql per owner."""
        args = self._args
        store = NamespaceSecretStore(
            f"{self._name}-secret-store",
            SecretStoreArgs(
                namespace=NAMESPACE,
                region=args.region,
                controller_role_arn=args.secret_store_controller_role_arn,
                secret_arns=[
                    args.master_secret_arn,
                    *(owner.secret_arn for owner in self.owners.values()),
                ],
                depends_on=args.depends_on,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        on_cluster = pulumi.ResourceOptions(parent=self, depends_on=[store])
        credentials = "schema-owners"
        remote = [
            {
                "secretKey": "PGUSER",
                "remoteRef": {"key": args.master_secret_arn, "property": "username"},
            },
            {
                "secretKey": "PGPASSWORD",
                "remoteRef": {"key": args.master_secret_arn, "property": "password"},
            },
        ]
        for environment, owner in self.owners.items():
            remote.append(
                {
                    "secretKey": f"OWNER_PASSWORD_{environment.upper()}",
                    "remoteRef": {"key": owner.secret_arn, "property": "password"},
                }
            )
        external_secret = k8s.apiextensions.CustomResource(
            f"{self._name}-credentials",
            api_version="external-secrets.io/v1",
            kind="ExternalSecret",
            metadata={"name": credentials, "namespace": NAMESPACE},
            spec={
                "refreshInterval": "1h",
                "secretStoreRef": {"kind": "SecretStore", "name": SECRET_STORE},
                "target": {"name": credentials, "creationPolicy": "Owner"},
                "data": remote,
            },
            opts=on_cluster,
        )
        script = SQL.read_text()
        commands = [
            (
                f'psql -v ON_ERROR_STOP=1 -v owner="{owner.role}" -v schema="{owner.schema}" '
                f'-v database="$PGDATABASE" -v password="$OWNER_PASSWORD_{environment.upper()}" '
                "-f /sql/schema_owner.sql"
            )
            for environment, owner in self.owners.items()
        ]
        # A new owner list or script is a new Job (a Job's template cannot change).
        digest = hashlib.sha256((script + "\n".join(sorted(self.owners))).encode()).hexdigest()[:10]
        config_map = k8s.core.v1.ConfigMap(
            f"{self._name}-sql",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"schema-owners-{digest}", namespace=NAMESPACE
            ),
            data={"schema_owner.sql": script},
            opts=on_cluster,
        )
        k8s.batch.v1.Job(
            f"{self._name}-bootstrap",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"schema-owners-{digest}", namespace=NAMESPACE
            ),
            spec=k8s.batch.v1.JobSpecArgs(
                backoff_limit=6,
                ttl_seconds_after_finished=None,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels={"app.kubernetes.io/name": "schema-owners"}
                    ),
                    spec=k8s.core.v1.PodSpecArgs(
                        restart_policy="OnFailure",
                        automount_service_account_token=False,
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True,
                            run_as_user=UID,
                            run_as_group=UID,
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                        ),
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name="psql",
                                image=IMAGE,
                                command=["sh", "-ec", " && ".join(commands)],
                                env=[
                                    k8s.core.v1.EnvVarArgs(
                                        name="PGHOST", value=args.writer_endpoint
                                    ),
                                    k8s.core.v1.EnvVarArgs(
                                        name="PGPORT",
                                        value=pulumi.Output.from_input(args.port).apply(str),
                                    ),
                                    k8s.core.v1.EnvVarArgs(
                                        name="PGDATABASE", value=args.database_name
                                    ),
                                    k8s.core.v1.EnvVarArgs(name="PGSSLMODE", value="require"),
                                ],
                                env_from=[
                                    k8s.core.v1.EnvFromSourceArgs(
                                        secret_ref=k8s.core.v1.SecretEnvSourceArgs(name=credentials)
                                    )
                                ],
                                resources=k8s.core.v1.ResourceRequirementsArgs(
                                    requests={"cpu": "50m", "memory": "64Mi"},
                                    limits={"memory": "128Mi"},
                                ),
                                security_context=k8s.core.v1.SecurityContextArgs(
                                    allow_privilege_escalation=False,
                                    read_only_root_filesystem=True,
                                    capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
                                ),
                                volume_mounts=[
                                    k8s.core.v1.VolumeMountArgs(
                                        name="sql", mount_path="/sql", read_only=True
                                    )
                                ],
                            )
                        ],
                        volumes=[
                            k8s.core.v1.VolumeArgs(
                                name="sql",
                                config_map=k8s.core.v1.ConfigMapVolumeSourceArgs(
                                    name=config_map.metadata.name
                                ),
                            )
                        ],
                    ),
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[external_secret, config_map],
            ),
        )
