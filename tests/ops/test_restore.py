"""The runbooks' restore scripts against moto: they find the recovery point from the stack's
outputs, start the restore, wait, and print the next step; `--dry-run` changes nothing;
with nothing to restore from they fail with a message and exit status 1."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ops.restore.__main__ import main
from ops.restore.aurora import restore_aurora
from ops.restore.common import RestoreError, Waiter
from ops.restore.efs import restore_file_system
from ops.restore.redis import restore_redis
from ops.restore.s3_object import restore_object

REGION = "us-east-1"
AURORA = "pingvas-shared-aurora"
REDIS = "pingvas-prod-redis"
PLATFORM = {
    "auroraWriterEndpoint": f"{AURORA}.cluster-abc.{REGION}.rds.amazonaws.com",
    "securityGroupIds": {"rds": "sg-rds"},
    "modelStoreFileSystemId": "fs-0123456789",
}
PROD = {
    "redisMode": "replicated",
    "redisHost": f"master.{REDIS}.abc.use1.cache.amazonaws.com",
    "imagesBucketName": "pingvas-prod-images-eb805c6c",
}


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


def no_wait() -> Waiter:
    return Waiter(out=io.StringIO(), sleep=lambda _: None)


def aurora_cluster(rds: Any) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier=AURORA,
        Engine="aurora-postgresql",
        MasterUsername="pingvas",
        MasterUserPassword="not-a-real-password",
        ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 4},
    )


def test_aurora_point_in_time_restore_to_a_new_cluster() -> None:
    rds = boto3.client("rds", region_name=REGION)
    aurora_cluster(rds)
    out = io.StringIO()
    target = restore_aurora(rds, PLATFORM, out=out, waiter=Waiter(out=out, sleep=lambda _: None))
    assert target.startswith(f"{AURORA}-pitr-")
    (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=target)["DBClusters"]
    assert cluster["Status"] == "available"
    (writer,) = rds.describe_db_instances(DBInstanceIdentifier=f"{target}-writer")["DBInstances"]
    assert writer["DBInstanceClass"] == "db.serverless"
    text = out.getvalue()
    assert f"cluster {target}: available" in text  # the progress display
    assert f"rename {AURORA} to {AURORA}-old" in text  # the cut-over, next
    assert rds.describe_db_clusters(DBClusterIdentifier=AURORA)["DBClusters"][0]["Status"]


def test_aurora_dry_run_changes_nothing() -> None:
    rds = boto3.client("rds", region_name=REGION)
    aurora_cluster(rds)
    out = io.StringIO()
    restore_aurora(rds, PLATFORM, out=out, waiter=no_wait(), dry_run=True)
    assert [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]] == [AURORA]
    assert "dry run" in out.getvalue()
    assert "full-copy" not in out.getvalue()


def test_aurora_refuses_a_time_outside_the_window() -> None:
    rds = boto3.client("rds", region_name=REGION)
    aurora_cluster(rds)
    last_week = datetime.now(UTC) - timedelta(days=8)  # SPEC §9: 7-day retention
    with pytest.raises(RestoreError, match="outside the restorable window"):
        restore_aurora(rds, PLATFORM, out=io.StringIO(), waiter=no_wait(), to_time=last_week)


def test_aurora_from_snapshot_when_the_cluster_is_gone_and_none_exists() -> None:
    rds = boto3.client("rds", region_name=REGION)
    with pytest.raises(RestoreError, match="no available snapshot of pingvas-shared-aurora"):
        restore_aurora(rds, PLATFORM, out=io.StringIO(), waiter=no_wait(), from_snapshot=True)
    with pytest.raises(RestoreError, match="--from-snapshot"):
        restore_aurora(rds, PLATFORM, out=io.StringIO(), waiter=no_wait())


def redis_group(elasticache: Any, snapshot: bool) -> None:
    elasticache.create_replication_group(
        ReplicationGroupId=REDIS,
        ReplicationGroupDescription="prod",
        CacheNodeType="cache.r6g.large",
        NumCacheClusters=3,
        Engine="redis",
    )
    if snapshot:
        elasticache.create_snapshot(ReplicationGroupId=REDIS, SnapshotName=f"{REDIS}-daily")


def test_redis_restores_the_newest_snapshot_into_a_new_group() -> None:
    elasticache = boto3.client("elasticache", region_name=REGION)
    redis_group(elasticache, snapshot=True)
    out = io.StringIO()
    target = restore_redis(elasticache, PROD, out=out, waiter=Waiter(out=out, sleep=lambda _: None))
    (group,) = elasticache.describe_replication_groups(ReplicationGroupId=target)[
        "ReplicationGroups"
    ]
    assert group["Status"] == "available"
    assert len(target) <= 40
    text = out.getvalue()
    assert f"from snapshot {REDIS}-daily" in text
    # What the snapshot cannot hold comes back from PostgreSQL through the workers.
    assert "worker re-enqueues them from PostgreSQL" in text
    assert "re-submit" not in text


def test_redis_without_a_snapshot_fails_with_what_to_do() -> None:
    elasticache = boto3.client("elasticache", region_name=REGION)
    redis_group(elasticache, snapshot=False)
    with pytest.raises(RestoreError, match="no available snapshot of pingvas-prod-redis"):
        restore_redis(elasticache, PROD, out=io.StringIO(), waiter=no_wait())


def test_in_cluster_redis_has_nothing_to_restore() -> None:
    elasticache = boto3.client("elasticache", region_name=REGION)
    with pytest.raises(RestoreError, match="in the cluster"):
        restore_redis(
            elasticache, {**PROD, "redisMode": "in-cluster"}, out=io.StringIO(), waiter=no_wait()
        )


def images_bucket(s3: Any) -> str:
    bucket = PROD["imagesBucketName"]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def test_s3_object_comes_back_after_a_delete_and_after_an_overwrite() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = images_bucket(s3)
    s3.put_object(Bucket=bucket, Key="images/a.png", Body=b"original")
    s3.delete_object(Bucket=bucket, Key="images/a.png")
    restore_object(s3, PROD, "images/a.png", out=io.StringIO())
    assert s3.get_object(Bucket=bucket, Key="images/a.png")["Body"].read() == b"original"
    s3.put_object(Bucket=bucket, Key="images/a.png", Body=b"overwritten")
    restore_object(s3, PROD, "images/a.png", out=io.StringIO())
    assert s3.get_object(Bucket=bucket, Key="images/a.png")["Body"].read() == b"original"


def test_s3_object_with_one_version_has_nothing_to_restore() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    bucket = images_bucket(s3)
    s3.put_object(Bucket=bucket, Key="images/a.png", Body=b"only")
    with pytest.raises(RestoreError, match="no earlier version"):
        restore_object(s3, PROD, "images/a.png", out=io.StringIO())
    out = io.StringIO()
    s3.put_object(Bucket=bucket, Key="images/a.png", Body=b"second")
    restore_object(s3, PROD, "images/a.png", out=out, dry_run=True)
    assert s3.get_object(Bucket=bucket, Key="images/a.png")["Body"].read() == b"second"


# moto does not implement AWS Backup's recovery points or restore jobs: the EFS script's
# calls are checked against botocore's own service model with a Stubber instead.
FILE_SYSTEM_ARN = f"arn:aws:elasticfilesystem:{REGION}:123456789012:file-system/fs-0123456789"
POINT = f"arn:aws:backup:{REGION}:123456789012:recovery-point:weekly-1"


def test_efs_restores_the_newest_completed_recovery_point() -> None:
    backup = boto3.client("backup", region_name=REGION)
    now = datetime.now(UTC)
    with Stubber(backup) as stub:
        stub.add_response(
            "list_recovery_points_by_resource",
            {
                "RecoveryPoints": [
                    {"RecoveryPointArn": POINT, "CreationDate": now, "Status": "COMPLETED"},
                    {
                        "RecoveryPointArn": f"{POINT}-old",
                        "CreationDate": now - timedelta(days=7),
                        "Status": "COMPLETED",
                    },
                    {
                        "RecoveryPointArn": f"{POINT}-partial",
                        "CreationDate": now,
                        "Status": "PARTIAL",
                    },
                ]
            },
            {"ResourceArn": FILE_SYSTEM_ARN},
        )
        stub.add_response(
            "start_restore_job",
            {"RestoreJobId": "job-1"},
            {
                "RecoveryPointArn": POINT,
                "IamRoleArn": "arn:aws:iam::123456789012:role/restore",
                "ResourceType": "EFS",
                "Metadata": {
                    "newFileSystem": "true",
                    "Encrypted": "true",
                    "PerformanceMode": "generalPurpose",
                },
            },
        )
        for status in ("RUNNING", "COMPLETED"):
            stub.add_response("describe_restore_job", {"Status": status}, {"RestoreJobId": "job-1"})
        out = io.StringIO()
        job = restore_file_system(
            backup,
            PLATFORM,
            account_id="123456789012",
            region=REGION,
            role_arn="arn:aws:iam::123456789012:role/restore",
            out=out,
            waiter=Waiter(out=out, sleep=lambda _: None),
        )
        stub.assert_no_pending_responses()
    assert job == "job-1"
    assert "restore job job-1: RUNNING" in out.getvalue()
    assert "restore job job-1: COMPLETED" in out.getvalue()


def test_efs_without_a_recovery_point_fails() -> None:
    backup = boto3.client("backup", region_name=REGION)
    with Stubber(backup) as stub:
        stub.add_response("list_recovery_points_by_resource", {"RecoveryPoints": []})
        with pytest.raises(RestoreError, match="no completed AWS Backup recovery point"):
            restore_file_system(
                backup,
                PLATFORM,
                account_id="123456789012",
                region=REGION,
                role_arn="arn:aws:iam::123456789012:role/restore",
                out=io.StringIO(),
                waiter=no_wait(),
            )


def test_cli_exits_1_with_nothing_to_restore(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "prod.json"
    outputs.write_text(json.dumps(PROD))
    elasticache = boto3.client("elasticache", region_name=REGION)
    redis_group(elasticache, snapshot=False)
    assert main(["redis", "--stack", "prod", "--outputs", str(outputs), "--dry-run"]) == 1
    assert "no available snapshot" in capsys.readouterr().err


def test_cli_dry_run_prints_the_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = tmp_path / "shared.json"
    outputs.write_text(json.dumps(PLATFORM))
    aurora_cluster(boto3.client("rds", region_name=REGION))
    assert main(["aurora", "--stack", "shared", "--outputs", str(outputs), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert f"Restore Aurora {AURORA} as of" in printed
    assert "(dry run: nothing started)" in printed
