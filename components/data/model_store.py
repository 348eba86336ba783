"""The shared store for AI models (SPEC §4, §9): an encrypted EFS file system mounted in
every private subnet, an access point for the models, weekly AWS Backup into its own
vault, and the models bucket (Intelligent-Tiering) that feeds it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.data.bucket import Bucket, BucketArgs, LifecycleRule
from components.iam import account_id, managed_policy_arn, partition, trusted_by

NFS_PORT = 2049
# The uid/gid the GPU workers run as; the access point makes every file theirs.
MODELS_UID = 1000
MODELS_PATH = "/models"
BACKUP_EVENTS = (
    "BACKUP_JOB_COMPLETED",
    "BACKUP_JOB_FAILED",
    "RESTORE_JOB_COMPLETED",
    "RESTORE_JOB_FAILED",
)
BACKUP_SERVICE_POLICIES = (  # AWS managed policies
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
)


@dataclass
class ModelStoreArgs:
    # A mount target in each: availability zone → private subnet id.
    subnets: Mapping[str, pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    models_bucket_name: pulumi.Input[str]
    ia_after_days: int = 30
    backup_schedule: str = "cron(0 5 ? * SUN *)"  # weekly, Sunday 05:00 UTC
    backup_retention_days: int = 30
    # EFS's AWS-managed key when None.
    kms_key_arn: pulumi.Input[str] | None = None
    # SNS topic told of every backup and restore job's end (SPEC §7: backup completion).
    backup_notifications_topic_arn: pulumi.Input[str] | None = None


class ModelStore(pulumi.ComponentResource):
    file_system_id: pulumi.Output[str]
    file_system_arn: pulumi.Output[str]
    access_point_id: pulumi.Output[str]
    models_bucket_name: pulumi.Output[str]
    models_bucket_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:data:ModelStore", name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self)

        self.file_system = aws.efs.FileSystem(
            f"{name}-efs",
            encrypted=True,
            kms_key_id=args.kms_key_arn,
            performance_mode="generalPurpose",
            throughput_mode="elastic",
            lifecycle_policies=[
                aws.efs.FileSystemLifecyclePolicyArgs(
                    transition_to_ia=f"AFTER_{args.ia_after_days}_DAYS"
                ),
                # A model read again is hot again.
                aws.efs.FileSystemLifecyclePolicyArgs(
                    transition_to_primary_storage_class="AFTER_1_ACCESS"
                ),
            ],
            tags={"Name": f"{name}-efs"},
            opts=child,
        )
        self._mount_targets()
        self.access_point = aws.efs.AccessPoint(
            f"{name}-models",
            file_system_id=self.file_system.id,
            posix_user=aws.efs.AccessPointPosixUserArgs(uid=MODELS_UID, gid=MODELS_UID),
            root_directory=aws.efs.AccessPointRootDirectoryArgs(
                path=MODELS_PATH,
                creation_info=aws.efs.AccessPointRootDirectoryCreationInfoArgs(
                    owner_uid=MODELS_UID, owner_gid=MODELS_UID, permissions="0755"
                ),
            ),
            tags={"Name": f"{name}-models"},
            opts=child,
        )
        self._file_system_policy()
        self._backup()
        self.models_bucket = Bucket(
            f"{name}-bucket",
            BucketArgs(
                bucket_name=args.models_bucket_name,
                lifecycle_rules=[
                    LifecycleRule(
                        id="intelligent-tiering",
                        intelligent_tiering_after_days=0,
                        noncurrent_expire_after_days=30,
                    )
                ],
            ),
            opts=child,
        )

        self.file_system_id = self.file_system.id
        self.file_system_arn = self.file_system.arn
        self.access_point_id = self.access_point.id
        self.models_bucket_name = self.models_bucket.bucket_name
        self.models_bucket_arn = self.models_bucket.bucket_arn
        self.register_outputs(
            {
                "file_system_id": self.file_system_id,
                "access_point_id": self.access_point_id,
                "models_bucket_name": self.models_bucket_name,
            }
        )

    def _file_system_policy(self) -> None:
        """Clients mount through a mount target and the models access point, over TLS;
        nothing else. (A file-system policy with only a Deny refuses every client.)"""
        arn = self.file_system.arn
        aws.efs.FileSystemPolicy(
            f"{self._name}-efs-policy",
            file_system_id=self.file_system.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "MountThroughTheModelsAccessPoint",
                            "Effect": "Allow",
                            "Principal": {"AWS": "*"},
                            "Action": "elasticfilesystem:ClientMount",
                            "Resource": arn,
                            "Condition": {
                                "Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"},
                                "StringEquals": {
                                    "elasticfilesystem:AccessPointArn": self.access_point.arn
                                },
                            },
                        },
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "*",
                            "Resource": arn,
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                    ],
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _mount_targets(self) -> None:
        for zone, subnet_id in self._args.subnets.items():
            aws.efs.MountTarget(
                f"{self._name}-efs-{zone}",
                file_system_id=self.file_system.id,
                subnet_id=subnet_id,
                security_groups=[self._args.security_group_id],
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _backup(self) -> None:
        """Weekly AWS Backup into a vault of its own (SPEC §9)."""
        child = pulumi.ResourceOptions(parent=self)
        args = self._args
        # This plan replaces EFS's own daily backups into the default vault.
        aws.efs.BackupPolicy(
            f"{self._name}-efs-backup-policy",
            file_system_id=self.file_system.id,
            backup_policy=aws.efs.BackupPolicyBackupPolicyArgs(status="DISABLED"),
            opts=child,
        )
        vault = aws.backup.Vault(f"{self._name}-backup", name=f"{self._name}-backup", opts=child)
        # Recovery points expire by the plan's lifecycle only: nobody deletes them early.
        aws.backup.VaultPolicy(
            f"{self._name}-backup",
            backup_vault_name=vault.name,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyEarlyDeletion",
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": [
                                "backup:DeleteRecoveryPoint",
                                "backup:UpdateRecoveryPointLifecycle",
                            ],
                            "Resource": "*",
                        }
                    ],
                }
            ),
            opts=child,
        )
        if args.backup_notifications_topic_arn is not None:
            aws.backup.VaultNotifications(
                f"{self._name}-backup-notifications",
                backup_vault_name=vault.name,
                sns_topic_arn=args.backup_notifications_topic_arn,
                backup_vault_events=list(BACKUP_EVENTS),
                opts=child,
            )
        plan = aws.backup.Plan(
            f"{self._name}-backup",
            name=f"{self._name}-backup",
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="weekly",
                    target_vault_name=vault.name,
                    schedule=args.backup_schedule,
                    start_window=60,
                    completion_window=24 * 60,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(
                        delete_after=args.backup_retention_days
                    ),
                )
            ],
            opts=child,
        )
        role = aws.iam.Role(
            f"{self._name}-backup",
            description="AWS Backup of the model store",
            assume_role_policy=trusted_by("backup.amazonaws.com", source_account=account_id(self)),
            opts=child,
        )
        in_partition = partition(self)
        for policy in BACKUP_SERVICE_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{self._name}-backup-{policy.rsplit('For', 1)[-1].lower()}",
                role=role.name,
                policy_arn=managed_policy_arn(in_partition, policy),
                opts=child,
            )
        aws.backup.Selection(
            f"{self._name}-backup",
            name=f"{self._name}-efs",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[self.file_system.arn],
            opts=child,
        )
