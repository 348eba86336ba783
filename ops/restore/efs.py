"""EFS (the model store): the newest completed AWS Backup recovery point, restored to a
new file system; the models are then copied back or the platform pointed at it."""

from __future__ import annotations

from typing import Any, TextIO

from ops.restore.common import Plan, RestoreError, Waiter, require


def restore_file_system(
    backup: Any,
    outputs: dict[str, Any],
    *,
    account_id: str,
    region: str,
    role_arn: str,
    out: TextIO,
    waiter: Waiter,
    dry_run: bool = False,
) -> str:
    """Returns the restore job's id (or the recovery point's ARN in a dry run)."""
    file_system = str(require(outputs, "modelStoreFileSystemId"))
    resource_arn = f"arn:aws:elasticfilesystem:{region}:{account_id}:file-system/{file_system}"
    points = backup.list_recovery_points_by_resource(ResourceArn=resource_arn)["RecoveryPoints"]
    completed = [p for p in points if p.get("Status") == "COMPLETED"]
    if not completed:
        raise RestoreError(
            f"no completed AWS Backup recovery point of {file_system}: nothing to restore."
            " The models can be re-synced from the models bucket instead (docs/runbooks/efs.md)"
        )
    point = max(completed, key=lambda p: p["CreationDate"])
    plan = Plan(
        f"Restore EFS {file_system} from {point['RecoveryPointArn']}",
        steps=[
            f"start an AWS Backup restore of the {point['CreationDate']:%Y-%m-%d %H:%M} UTC"
            " recovery point to a new, encrypted file system",
            "wait for the restore job to complete",
        ],
        next_steps=[
            "mount the new file system (or copy its aws-backup-restore_* directory back into"
            " the model store), then restart the GPU workers",
            "or set the platform to the new file system id and `pulumi up --stack shared`",
        ],
    )
    plan.show(out)
    if dry_run:
        print("(dry run: nothing started)", file=out)
        return str(point["RecoveryPointArn"])
    job = backup.start_restore_job(
        RecoveryPointArn=point["RecoveryPointArn"],
        IamRoleArn=role_arn,
        ResourceType="EFS",
        Metadata={
            "newFileSystem": "true",
            "Encrypted": "true",
            "PerformanceMode": "generalPurpose",
        },
    )
    job_id = str(job["RestoreJobId"])
    waiter.until(
        f"restore job {job_id}",
        lambda: str(backup.describe_restore_job(RestoreJobId=job_id)["Status"]),
        ready={"COMPLETED"},
        failed={"ABORTED", "FAILED"},
    )
    plan.show_next(out)
    return job_id
