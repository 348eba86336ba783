"""Aurora: point-in-time restore to a new cluster (or from the newest snapshot when the
cluster itself is gone), a serverless writer in it, and the cut-over to do next."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TextIO

from ops.restore.common import Plan, RestoreError, Waiter, require

# The instance class of Aurora Serverless v2 (components.data.aurora).
SERVERLESS = "db.serverless"
# SPEC §4's 0.5-4 ACU, when the source cluster is gone and cannot tell.
SPEC_SCALING = {"MinCapacity": 0.5, "MaxCapacity": 4}


def source_cluster_id(outputs: dict[str, Any]) -> str:
    """`<cluster>.cluster-<hash>.<region>.rds.amazonaws.com` → `<cluster>`."""
    return str(require(outputs, "auroraWriterEndpoint")).split(".", 1)[0]


def restore_aurora(
    rds: Any,
    outputs: dict[str, Any],
    *,
    out: TextIO,
    waiter: Waiter,
    to_time: datetime | None = None,
    from_snapshot: bool = False,
    dry_run: bool = False,
) -> str:
    """Returns the new cluster's identifier."""
    source = source_cluster_id(outputs)
    now = datetime.now(UTC)
    if from_snapshot:
        snapshot = _newest_snapshot(rds, source)
        target = f"{source}-snap-{now:%Y%m%d%H%M}"
        settings = {"SnapshotIdentifier": snapshot["DBClusterSnapshotIdentifier"]}
        name, taken = snapshot["DBClusterSnapshotIdentifier"], snapshot["SnapshotCreateTime"]
        what = f"snapshot {name} of {taken:%Y-%m-%d %H:%M} UTC"
        engine = snapshot["Engine"]
        scaling = SPEC_SCALING
    else:
        cluster = _cluster(rds, source)
        restore_time = _restore_time(cluster, to_time)
        target = f"{source}-pitr-{restore_time:%Y%m%d%H%M}"
        settings = {"SourceDBClusterIdentifier": source, "RestoreType": "full-copy"}
        if to_time is None:
            settings["UseLatestRestorableTime"] = True
        else:
            settings["RestoreToTime"] = restore_time
        what = f"{source} as of {restore_time:%Y-%m-%d %H:%M:%S} UTC"
        engine = cluster["Engine"]
        scaling = cluster.get("ServerlessV2ScalingConfiguration") or SPEC_SCALING
    plan = Plan(
        f"Restore Aurora {what} into a new cluster {target}",
        steps=[
            f"restore {what} to {target} (same subnets, security groups and key)",
            f"add a {SERVERLESS} writer {target}-writer and wait until it is available",
        ],
        next_steps=[
            f"check the data: psql -h {target}.cluster-<hash>... (endpoint printed below)",
            f"cut over: rename {source} to {source}-old, then {target} to {source}"
            " (aws rds modify-db-cluster --new-db-cluster-identifier ... --apply-immediately);"
            " the apps' endpoint names then point at the restored data",
            "restart the API and workers (kubectl rollout restart deploy -n <env>)",
            "pulumi refresh --stack shared, then delete the -old cluster when satisfied",
        ],
    )
    plan.show(out)
    if dry_run:
        print("(dry run: nothing started)", file=out)
        return target
    # Where the platform put the original (components.data.aurora names the subnet group after
    # the cluster); encryption keeps the source's key.
    rds_kwargs: dict[str, Any] = {
        "DBClusterIdentifier": target,
        "DBSubnetGroupName": source,
        "VpcSecurityGroupIds": [require(outputs, "securityGroupIds")["rds"]],
        "ServerlessV2ScalingConfiguration": scaling,
        "DeletionProtection": True,
    }
    if from_snapshot:
        rds.restore_db_cluster_from_snapshot(Engine=engine, **settings, **rds_kwargs)
    else:
        rds.restore_db_cluster_to_point_in_time(**settings, **rds_kwargs)
    rds.create_db_instance(
        DBInstanceIdentifier=f"{target}-writer",
        DBClusterIdentifier=target,
        DBInstanceClass=SERVERLESS,
        Engine=engine,
    )
    waiter.until(
        f"cluster {target}",
        lambda: str(_cluster(rds, target)["Status"]),
        ready={"available"},
        failed={"failed", "inaccessible-encryption-credentials"},
    )
    waiter.until(
        f"writer {target}-writer",
        lambda: str(
            rds.describe_db_instances(DBInstanceIdentifier=f"{target}-writer")["DBInstances"][0][
                "DBInstanceStatus"
            ]
        ),
        ready={"available"},
        failed={"failed", "incompatible-restore"},
    )
    print(f"Restored: {target} at {_cluster(rds, target).get('Endpoint')}", file=out)
    plan.show_next(out)
    return target


def _cluster(rds: Any, identifier: str) -> dict[str, Any]:
    try:
        (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    except rds.exceptions.DBClusterNotFoundFault as error:
        raise RestoreError(
            f"no Aurora cluster {identifier}: restore from its snapshot with --from-snapshot"
        ) from error
    return dict(cluster)


def _restore_time(cluster: dict[str, Any], wanted: datetime | None) -> datetime:
    earliest = cluster.get("EarliestRestorableTime")
    latest = cluster.get("LatestRestorableTime")
    if earliest is None or latest is None:
        raise RestoreError(
            f"{cluster['DBClusterIdentifier']} has no point-in-time backups: use --from-snapshot"
        )
    if wanted is None:
        return latest
    if not earliest <= wanted <= latest:
        raise RestoreError(
            f"{wanted:%Y-%m-%d %H:%M} UTC is outside the restorable window "
            f"{earliest:%Y-%m-%d %H:%M} to {latest:%Y-%m-%d %H:%M} UTC"
        )
    return wanted


def _newest_snapshot(rds: Any, source: str) -> dict[str, Any]:
    snapshots = rds.describe_db_cluster_snapshots(DBClusterIdentifier=source)["DBClusterSnapshots"]
    ready = [s for s in snapshots if s.get("Status") == "available"]
    if not ready:
        raise RestoreError(
            f"no available snapshot of {source}: nothing to restore from "
            "(check AWS Backup and the final snapshot in the RDS console)"
        )
    return dict(max(ready, key=lambda s: s["SnapshotCreateTime"]))
