"""The shared Aurora Serverless v2 PostgreSQL cluster (SPEC §4, §9): a writer and readers
in different zones, encrypted with its own KMS key, TLS forced, IAM authentication, the
master password kept by Secrets Manager, daily backups with point-in-time recovery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.conventions import KEPT_LOGS_CLASS

ENGINE = aws.rds.EngineType.AURORA_POSTGRESQL
INSTANCE_CLASS = "db.serverless"
PORT = 5432


# TLS only; passwords stored and accepted as SCRAM alone, so clients' channel binding
# (SCRAM-SHA-256-PLUS) always applies and no md5 verifier is ever written (issue 22).
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/PostgreSQL_Password_Encryption_configuration.html
SERVER_PARAMETERS = {
    "rds.force_ssl": "1",
    "password_encryption": "scram-sha-256",
    "rds.accepted_password_auth_method": "scram",
}

# (name suffix, RDS source type, event categories (none: all), limited to this cluster)
SUBSCRIPTIONS = (
    ("snapshot-events", "db-cluster-snapshot", (), False),
    ("failure-events", "db-cluster", ("failure",), True),
)


@dataclass
class AuroraArgs:
    cluster_identifier: str
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_id: pulumi.Input[str]
    # The writer goes to the first zone, readers to the others in turn.
    availability_zones: list[str]
    engine_version: str = "16.8"
    database_name: str = "pingvas_saas"
    master_username: str = "pingvas_admin"
    readers: int = 1
    # Tiers 0-1 keep a reader at the writer's capacity; tiers 2-15 let it scale on its own
    # load (it stays a failover target). docs/decisions/0113-aurora-reader-promotion-tier.md
    reader_promotion_tier: int = 2
    min_capacity: float = 0.5
    max_capacity: float = 4
    seconds_until_auto_pause: int | None = None
    backup_retention_days: int = 7
    backup_window: str = "03:00-04:00"
    maintenance_window: str = "sun:04:30-sun:05:30"
    deletion_protection: bool = True
    final_snapshot: bool = True
    log_retention_days: int = 30
    performance_insights_retention_days: int = 7  # the free tier
    # SNS topic told of every cluster snapshot's start, end or failure (the daily automated
    # one included) and of the cluster's failures (SPEC §7: backup completion).
    notifications_topic_arn: pulumi.Input[str] | None = None


class Aurora(pulumi.ComponentResource):
    writer_endpoint: pulumi.Output[str]
    reader_endpoint: pulumi.Output[str]
    port: pulumi.Output[int]
    database_name: pulumi.Output[str]
    master_secret_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    cluster_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: AuroraArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self._check(args)  # before registering anything
        super().__init__("pingvas:data:Aurora", name, None, opts)
        self._name = name
        self._args = args

        self.key = self._kms_key()
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            name=args.cluster_identifier,
            description=f"{args.cluster_identifier}: private subnets",
            subnet_ids=args.subnet_ids,
            opts=pulumi.ResourceOptions(parent=self),
        )
        parameters = self._parameter_group()
        log_group = self._log_group()
        self.cluster = self._cluster(subnet_group, parameters, log_group)
        self._instances()
        if args.notifications_topic_arn is not None:
            self._event_subscriptions(args.notifications_topic_arn)

        self.writer_endpoint = self.cluster.endpoint
        self.reader_endpoint = self.cluster.reader_endpoint
        self.port = self.cluster.port
        self.database_name = self.cluster.database_name
        self.master_secret_arn = self.cluster.master_user_secrets.apply(_secret_arn)
        self.kms_key_arn = self.key.arn
        self.cluster_arn = self.cluster.arn
        self.register_outputs(
            {
                "writer_endpoint": self.writer_endpoint,
                "reader_endpoint": self.reader_endpoint,
                "port": self.port,
                "database_name": self.database_name,
                "master_secret_arn": self.master_secret_arn,
                "kms_key_arn": self.kms_key_arn,
            }
        )

    @staticmethod
    def _check(args: AuroraArgs) -> None:
        if args.readers and len(args.availability_zones) < 2:
            raise ValueError("AuroraArgs: readers need a second availability zone")
        if args.max_capacity < args.min_capacity:
            raise ValueError("AuroraArgs: max_capacity is below min_capacity")
        if args.seconds_until_auto_pause is not None and args.min_capacity != 0:
            raise ValueError("AuroraArgs: only a cluster with min_capacity 0 pauses")

    def _kms_key(self) -> aws.kms.Key:
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            f"{self._name}-key",
            description=f"{self._args.cluster_identifier}: storage, Performance Insights, "
            "master secret",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=child,
        )
        aws.kms.Alias(
            f"{self._name}-key",
            name=f"alias/{self._args.cluster_identifier}",
            target_key_id=key.key_id,
            opts=child,
        )
        return key

    def _parameter_group(self) -> aws.rds.ClusterParameterGroup:
        major = self._args.engine_version.split(".")[0]
        return aws.rds.ClusterParameterGroup(
            f"{self._name}-params",
            name=f"{self._args.cluster_identifier}-pg{major}",
            family=f"{ENGINE.value}{major}",
            description=f"{self._args.cluster_identifier}: TLS and SCRAM only",
            parameters=[
                aws.rds.ClusterParameterGroupParameterArgs(
                    name=name, value=value, apply_method="immediate"
                )
                for name, value in SERVER_PARAMETERS.items()
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _log_group(self) -> aws.cloudwatch.LogGroup:
        """Created before the cluster, so RDS exports into it rather than into a group
        it creates itself that keeps logs forever."""
        return aws.cloudwatch.LogGroup(
            f"{self._name}-postgresql-logs",
            name=f"/aws/rds/cluster/{self._args.cluster_identifier}/postgresql",
            retention_in_days=self._args.log_retention_days,
            log_group_class=KEPT_LOGS_CLASS,
            # Named: a class change must delete the old group before creating the new one.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )

    def _cluster(
        self,
        subnet_group: aws.rds.SubnetGroup,
        parameters: aws.rds.ClusterParameterGroup,
        log_group: aws.cloudwatch.LogGroup,
    ) -> aws.rds.Cluster:
        args = self._args
        return aws.rds.Cluster(
            self._name,
            cluster_identifier=args.cluster_identifier,
            engine=ENGINE,
            engine_mode="provisioned",  # Serverless v2 is provisioned with db.serverless
            engine_version=args.engine_version,
            database_name=args.database_name,
            port=PORT,
            master_username=args.master_username,
            manage_master_user_password=True,
            master_user_secret_kms_key_id=self.key.arn,
            iam_database_authentication_enabled=True,
            storage_encrypted=True,
            kms_key_id=self.key.arn,
            serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                min_capacity=args.min_capacity,
                max_capacity=args.max_capacity,
                seconds_until_auto_pause=args.seconds_until_auto_pause,
            ),
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[args.security_group_id],
            db_cluster_parameter_group_name=parameters.name,
            backup_retention_period=args.backup_retention_days,
            preferred_backup_window=args.backup_window,
            preferred_maintenance_window=args.maintenance_window,
            copy_tags_to_snapshot=True,
            deletion_protection=args.deletion_protection,
            skip_final_snapshot=not args.final_snapshot,
            final_snapshot_identifier=(
                f"{args.cluster_identifier}-final" if args.final_snapshot else None
            ),
            enabled_cloudwatch_logs_exports=["postgresql"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group]),
        )

    def _event_subscriptions(self, topic_arn: pulumi.Input[str]) -> None:
        """RDS reports backups as events of the snapshot, not of the cluster: automated
        cluster snapshots (RDS-EVENT-0168/0169), manual ones and their failures are
        `db-cluster-snapshot` events, whose ids are not known in advance, so that
        subscription covers every cluster snapshot of the account and region (this is the
        account's only Aurora cluster). Failures of the cluster itself come from the second.
        https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Events.Messages.html"""
        child = pulumi.ResourceOptions(parent=self, depends_on=[self.cluster])
        identifier = self._args.cluster_identifier
        for suffix, source_type, categories, source_ids in SUBSCRIPTIONS:
            aws.rds.EventSubscription(
                f"{self._name}-{suffix}",
                name=f"{identifier}-{suffix}",
                sns_topic=topic_arn,
                source_type=source_type,
                event_categories=list(categories) or None,
                source_ids=[identifier] if source_ids else None,
                opts=child,
            )

    def _instances(self) -> None:
        """The first instance created becomes the writer; readers follow it, each in
        another zone, so a zone outage leaves a reader to promote."""
        zones = self._args.availability_zones
        writer = self._instance("writer", zones[0], promotion_tier=0, after=[])
        for number in range(1, self._args.readers + 1):
            zone = zones[1 + (number - 1) % (len(zones) - 1)]
            self._instance(
                f"reader-{number}",
                zone,
                promotion_tier=self._args.reader_promotion_tier,
                after=[writer],
            )

    def _instance(
        self, role: str, zone: str, promotion_tier: int, after: list[pulumi.Resource]
    ) -> aws.rds.ClusterInstance:
        args = self._args
        return aws.rds.ClusterInstance(
            f"{self._name}-{role}",
            identifier=f"{args.cluster_identifier}-{role}",
            cluster_identifier=self.cluster.id,
            engine=ENGINE,
            engine_version=self.cluster.engine_version,
            instance_class=INSTANCE_CLASS,
            availability_zone=zone,
            promotion_tier=promotion_tier,
            publicly_accessible=False,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=self.key.arn,
            performance_insights_retention_period=args.performance_insights_retention_days,
            auto_minor_version_upgrade=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )


def _secret_arn(secrets: Sequence[aws.rds.outputs.ClusterMasterUserSecret]) -> str:
    """The ARN of the secret RDS keeps the master password in."""
    arn = secrets[0].secret_arn if secrets else None
    if arn is None:
        raise ValueError("RDS reported no master user secret")
    return arn
