"""SPEC §4/§9 data-layer facts of the shared platform: Aurora, the model store, the shared
buckets and ECR, read from the real program's offline run of `shared`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pulumi_offline import OfflineRun, RecordedResource

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
BUCKET = "aws:s3/bucket:Bucket"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
REPOSITORY = "aws:ecr/repository:Repository"


def group_name(run: OfflineRun, group_id: str) -> str:
    return run.by_id(group_id).name


def lifecycle_of(run: OfflineRun, bucket: RecordedResource) -> list[dict[str, Any]]:
    (config,) = [c for c in run.of_type(LIFECYCLE) if c.inputs["bucket"] == bucket.id]
    rules: list[dict[str, Any]] = config.inputs["rules"]
    return rules


def bucket_named(run: OfflineRun, thing: str) -> RecordedResource:
    (bucket,) = [b for b in run.of_type(BUCKET) if b.inputs["bucket"].startswith(thing + "-")]
    return bucket


# --- Aurora ----------------------------------------------------------------------------


def test_aurora_is_serverless_v2_postgresql_named_after_spec(shared: OfflineRun) -> None:
    (cluster,) = shared.of_type(CLUSTER)
    inputs = cluster.inputs
    assert inputs["clusterIdentifier"] == "pingvas-shared-aurora"
    assert inputs["engine"] == "aurora-postgresql"
    assert inputs["engineMode"] == "provisioned"
    assert inputs["engineVersion"].startswith("16.")
    assert inputs["databaseName"] == "pingvas_saas"
    assert inputs["serverlessv2ScalingConfiguration"] == {"minCapacity": 0.5, "maxCapacity": 4}


def test_aurora_writer_and_one_reader_in_different_zones(shared: OfflineRun) -> None:
    (cluster,) = shared.of_type(CLUSTER)
    instances = {i.inputs["identifier"]: i.inputs for i in shared.of_type(INSTANCE)}
    assert set(instances) == {"pingvas-shared-aurora-writer", "pingvas-shared-aurora-reader-1"}
    writer = instances["pingvas-shared-aurora-writer"]
    reader = instances["pingvas-shared-aurora-reader-1"]
    for instance in (writer, reader):
        assert instance["instanceClass"] == "db.serverless"
        assert instance["clusterIdentifier"] == cluster.id
        assert instance["publiclyAccessible"] is False
        assert instance["performanceInsightsEnabled"] is True
    # SPEC §4: writer in us-east-1a, reader in us-east-1b.
    assert (writer["availabilityZone"], reader["availabilityZone"]) == ("us-east-1a", "us-east-1b")
    assert writer["promotionTier"] < reader["promotionTier"]
    # Tier 2: the reader scales on its own load and is still promoted on failover (0113).
    assert reader["promotionTier"] == 2


def test_aurora_backups_protection_and_logs(shared: OfflineRun) -> None:
    (cluster,) = shared.of_type(CLUSTER)
    inputs = cluster.inputs
    assert inputs["backupRetentionPeriod"] == 7  # SPEC §9
    assert inputs["preferredBackupWindow"] == "03:00-04:00"
    assert inputs["preferredMaintenanceWindow"] == "sun:04:30-sun:05:30"
    assert inputs["deletionProtection"] is True
    assert inputs["skipFinalSnapshot"] is False
    assert inputs["finalSnapshotIdentifier"] == "pingvas-shared-aurora-final"
    assert inputs["enabledCloudwatchLogsExports"] == ["postgresql"]
    log_group = shared.one(
        "aws:cloudwatch/logGroup:LogGroup", "pingvas-shared-aurora-postgresql-logs"
    )
    assert log_group.inputs["name"] == "/aws/rds/cluster/pingvas-shared-aurora/postgresql"
    assert log_group.inputs["retentionInDays"] == 30


def test_aurora_security(shared: OfflineRun) -> None:
    (cluster,) = shared.of_type(CLUSTER)
    inputs = cluster.inputs
    key = shared.one("aws:kms/key:Key", "pingvas-shared-aurora-key")
    assert key.inputs["enableKeyRotation"] is True
    assert inputs["storageEncrypted"] is True
    key_arn = f"arn:aws:kms:us-east-1:123456789012:key/{key.id}"
    assert inputs["kmsKeyId"] == key_arn
    assert inputs["masterUserSecretKmsKeyId"] == key_arn
    assert inputs["manageMasterUserPassword"] is True
    assert "masterPassword" not in inputs
    assert inputs["iamDatabaseAuthenticationEnabled"] is True
    assert [group_name(shared, g) for g in inputs["vpcSecurityGroupIds"]] == ["pingvas-shared-rds"]
    for instance in shared.of_type(INSTANCE):
        assert instance.inputs["performanceInsightsKmsKeyId"] == key_arn

    params = shared.one(
        "aws:rds/clusterParameterGroup:ClusterParameterGroup", "pingvas-shared-aurora-params"
    )
    assert inputs["dbClusterParameterGroupName"] == params.inputs["name"]
    assert params.inputs["family"] == "aurora-postgresql16"
    assert {(p["name"], p["value"]) for p in params.inputs["parameters"]} >= {
        ("rds.force_ssl", "1"),
        # Issue 22: SCRAM verifiers only, and only SCRAM accepted (channel binding needs it).
        ("password_encryption", "scram-sha-256"),
        ("rds.accepted_password_auth_method", "scram"),
    }

    subnets = shared.one("aws:rds/subnetGroup:SubnetGroup", "pingvas-shared-aurora-subnets")
    assert inputs["dbSubnetGroupName"] == subnets.inputs["name"]
    assert sorted(shared.by_id(s).name for s in subnets.inputs["subnetIds"]) == [
        f"pingvas-shared-private-us-east-1{zone}" for zone in "abc"
    ]


def test_platform_exports_aurora_for_environments(shared: OfflineRun) -> None:
    outputs = shared.outputs
    assert outputs["auroraWriterEndpoint"].startswith("pingvas-shared-aurora.cluster-")
    assert outputs["auroraReaderEndpoint"].startswith("pingvas-shared-aurora.cluster-ro-")
    assert outputs["auroraPort"] == 5432
    assert outputs["auroraDatabaseName"] == "pingvas_saas"
    # The master secret stays inside the platform (issue 12, guarantee 1): environments
    # get their schema owner's secret instead.
    assert "auroraMasterSecretArn" not in outputs
    assert set(outputs["schemaOwnerSecretArns"]) == {"dev", "prod"}


def test_sandbox_aurora_may_pause_and_skip_protection(
    stack_with: Callable[..., OfflineRun],
) -> None:
    run = stack_with(
        "shared",
        {
            "pingvas:aurora": {
                "minCapacity": 0,
                "maxCapacity": 2,
                "secondsUntilAutoPause": 600,
                "readers": 0,
                "deletionProtection": False,
                "finalSnapshot": False,
            }
        },
    )
    (cluster,) = run.of_type(CLUSTER)
    assert cluster.inputs["serverlessv2ScalingConfiguration"] == {
        "minCapacity": 0,
        "maxCapacity": 2,
        "secondsUntilAutoPause": 600,
    }
    assert cluster.inputs["deletionProtection"] is False
    assert cluster.inputs["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in cluster.inputs
    assert [i.inputs["identifier"] for i in run.of_type(INSTANCE)] == [
        "pingvas-shared-aurora-writer"
    ]


def test_more_readers_spread_over_the_other_zones(stack_with: Callable[..., OfflineRun]) -> None:
    run = stack_with("shared", {"pingvas:aurora": {"readers": 3}})
    zones = {i.inputs["identifier"]: i.inputs["availabilityZone"] for i in run.of_type(INSTANCE)}
    assert zones == {
        "pingvas-shared-aurora-writer": "us-east-1a",
        "pingvas-shared-aurora-reader-1": "us-east-1b",
        "pingvas-shared-aurora-reader-2": "us-east-1c",
        "pingvas-shared-aurora-reader-3": "us-east-1b",
    }


# --- model store -----------------------------------------------------------------------


def test_efs_is_encrypted_elastic_and_moves_to_ia_after_30_days(shared: OfflineRun) -> None:
    (efs,) = shared.of_type("aws:efs/fileSystem:FileSystem")
    assert efs.inputs["encrypted"] is True
    assert efs.inputs["throughputMode"] == "elastic"
    assert efs.inputs["lifecyclePolicies"] == [
        {"transitionToIa": "AFTER_30_DAYS"},
        {"transitionToPrimaryStorageClass": "AFTER_1_ACCESS"},
    ]
    (policy,) = shared.of_type("aws:efs/fileSystemPolicy:FileSystemPolicy")
    mount, deny = json.loads(policy.inputs["policy"])["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # A deny-only policy refuses every client: mounts through a mount target and the
    # models access point are allowed (issue 12, guarantee 8).
    (access_point,) = shared.of_type("aws:efs/accessPoint:AccessPoint")
    assert (mount["Effect"], mount["Action"]) == ("Allow", "elasticfilesystem:ClientMount")
    assert mount["Condition"]["Bool"] == {"elasticfilesystem:AccessedViaMountTarget": "true"}
    through = mount["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"]
    assert through.endswith(access_point.id)


def test_efs_mount_target_in_every_private_subnet_behind_the_efs_group(
    shared: OfflineRun,
) -> None:
    (efs,) = shared.of_type("aws:efs/fileSystem:FileSystem")
    targets = shared.of_type("aws:efs/mountTarget:MountTarget")
    assert sorted(shared.by_id(t.inputs["subnetId"]).name for t in targets) == [
        f"pingvas-shared-private-us-east-1{zone}" for zone in "abc"
    ]
    for target in targets:
        assert target.inputs["fileSystemId"] == efs.id
        assert [group_name(shared, g) for g in target.inputs["securityGroups"]] == [
            "pingvas-shared-efs"
        ]
    (access_point,) = shared.of_type("aws:efs/accessPoint:AccessPoint")
    assert access_point.inputs["fileSystemId"] == efs.id
    assert access_point.inputs["rootDirectory"]["path"] == "/models"
    assert shared.outputs["modelStoreFileSystemId"] == efs.id
    assert shared.outputs["modelStoreAccessPointId"] == access_point.id


def test_efs_weekly_backup_kept_30_days_in_its_own_vault(shared: OfflineRun) -> None:
    (efs,) = shared.of_type("aws:efs/fileSystem:FileSystem")
    (vault,) = shared.of_type("aws:backup/vault:Vault")
    (plan,) = shared.of_type("aws:backup/plan:Plan")
    (rule,) = plan.inputs["rules"]
    assert rule["schedule"] == "cron(0 5 ? * SUN *)"  # weekly
    assert rule["lifecycle"] == {"deleteAfter": 30}
    assert rule["targetVaultName"] == vault.inputs["name"]
    (selection,) = shared.of_type("aws:backup/selection:Selection")
    assert selection.inputs["planId"] == plan.id
    assert selection.inputs["resources"] == [
        f"arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/{efs.id}"
    ]
    role = shared.by_id(selection.inputs["iamRoleArn"].rsplit("/", 1)[-1])
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "backup.amazonaws.com"}
    (efs_policy,) = shared.of_type("aws:efs/backupPolicy:BackupPolicy")
    assert efs_policy.inputs["backupPolicy"] == {"status": "DISABLED"}


def test_efs_backup_settings_come_from_config(stack_with: Callable[..., OfflineRun]) -> None:
    run = stack_with(
        "shared",
        {"pingvas:modelStore": {"iaAfterDays": 60, "backupRetentionDays": 90}},
    )
    (efs,) = run.of_type("aws:efs/fileSystem:FileSystem")
    assert efs.inputs["lifecyclePolicies"][0] == {"transitionToIa": "AFTER_60_DAYS"}
    (plan,) = run.of_type("aws:backup/plan:Plan")
    assert plan.inputs["rules"][0]["lifecycle"] == {"deleteAfter": 90}


# --- shared buckets --------------------------------------------------------------------


def test_models_bucket_uses_intelligent_tiering(shared: OfflineRun) -> None:
    bucket = bucket_named(shared, "pingvas-shared-models")
    (rule,) = lifecycle_of(shared, bucket)
    assert rule["transitions"] == [{"days": 0, "storageClass": "INTELLIGENT_TIERING"}]
    assert "expiration" not in rule
    assert shared.outputs["modelsBucketName"] == bucket.inputs["bucket"]


def test_logs_bucket_deletes_after_30_days(shared: OfflineRun) -> None:
    """Operational logs (ALB, pods) after 30 days; the audit trail has its own rule."""
    bucket = bucket_named(shared, "pingvas-shared-logs")
    rules = {rule["filter"]["prefix"]: rule for rule in lifecycle_of(shared, bucket)}
    assert set(rules) == {"alb/", "pods/", "cloudtrail/"}
    for prefix in ("alb/", "pods/"):
        assert rules[prefix]["expiration"] == {"days": 30}
        assert "transitions" not in rules[prefix]
    assert shared.outputs["logsBucketName"] == bucket.inputs["bucket"]


def test_shared_bucket_names_are_globally_unique(shared: OfflineRun) -> None:
    names = sorted(b.inputs["bucket"] for b in shared.of_type(BUCKET))
    assert [name.rsplit("-", 1)[0] for name in names] == [
        # Not `pingvas-shared-*`: the deploy roles' Deny on the platform's names would
        # refuse the review sessions their own prefixes (components/delivery/review_state.py).
        "pingvas-review-state",
        "pingvas-shared-logs",
        "pingvas-shared-models",
    ]
    suffixes = {name.rsplit("-", 1)[1] for name in names}
    assert len(suffixes) == 1
    assert len(next(iter(suffixes))) == 8  # account/region hash (infra.naming)


# --- ECR -------------------------------------------------------------------------------


def test_ecr_repositories_scan_on_push_with_immutable_tags(shared: OfflineRun) -> None:
    repositories = {r.inputs["name"]: r for r in shared.of_type(REPOSITORY)}
    assert set(repositories) == {"pingvas-shared-api", "pingvas-shared-worker"}
    policies = shared.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert len(policies) == 2
    for name, repository in repositories.items():
        assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        (policy,) = [p for p in policies if p.inputs["repository"] == name]
        rules = json.loads(policy.inputs["policy"])["rules"]
        assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]
        assert rules[0]["selection"]["countNumber"] == 7
        assert rules[1]["selection"] == {
            "tagStatus": "any",
            "countType": "imageCountMoreThan",
            "countNumber": 50,
        }
    urls = shared.outputs["repositoryUrls"]
    assert urls["api"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/pingvas-shared-api"


@pytest.mark.parametrize(
    "component", ["pingvas:data:Aurora", "pingvas:data:ModelStore", "pingvas:registry:Registry"]
)
def test_data_components_own_their_resources(shared: OfflineRun, component: str) -> None:
    (parent,) = shared.of_type(component)
    children = [r for r in shared.resources if r.parent == parent.urn]
    assert children
    for child in children:
        if child.type.startswith("aws:"):
            assert shared.provider_of(child).name == "pingvas-shared-aws"
