"""ElastiCache Redis: a new replication group seeded from the group's newest snapshot, or
for a serverless cache (`redisMode` serverless) a new serverless cache seeded from its
newest snapshot (ops/restore/serverless_redis.py).

Redis holds the job queue and caches only: PostgreSQL is the source of truth for jobs, so
the jobs a snapshot misses are found there (SPEC §11, recovery points)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TextIO

from ops.restore.common import Plan, RestoreError, Waiter, require
from ops.restore.redis_restore import next_steps, no_snapshot, restored_name
from ops.restore.serverless_redis import restore_serverless_redis


def replication_group_id(outputs: dict[str, Any]) -> str:
    """The stack's `redisHost`, `master.<group>.<hash>.<region>.cache.amazonaws.com` (the
    primary endpoint of a group with in-transit encryption) → `<group>`."""
    if require(outputs, "redisMode") == "in-cluster":
        raise RestoreError("this stack runs Redis in the cluster: it has no snapshots")
    labels = str(require(outputs, "redisHost")).split(".")
    return labels[1] if labels[0] == "master" else labels[0]


def restore_redis(
    elasticache: Any,
    outputs: dict[str, Any],
    *,
    out: TextIO,
    waiter: Waiter,
    dry_run: bool = False,
) -> str:
    """Returns the new replication group's (or serverless cache's) id."""
    if require(outputs, "redisMode") == "serverless":
        return restore_serverless_redis(
            elasticache, outputs, out=out, waiter=waiter, dry_run=dry_run
        )
    source = replication_group_id(outputs)
    snapshots = elasticache.describe_snapshots(ReplicationGroupId=source)["Snapshots"]
    ready = [s for s in snapshots if s.get("SnapshotStatus") == "available"]
    if not ready:
        raise no_snapshot(source, "group")
    snapshot = max(ready, key=_created)
    (group,) = elasticache.describe_replication_groups(ReplicationGroupId=source)[
        "ReplicationGroups"
    ]
    target = restored_name(source)
    plan = Plan(
        f"Restore Redis {source} from snapshot {snapshot['SnapshotName']} into {target}",
        steps=[
            f"create replication group {target} from {snapshot['SnapshotName']}"
            f" (taken {_created(snapshot):%Y-%m-%d %H:%M} UTC), same node type and node count",
            "wait until it is available",
        ],
        next_steps=next_steps(
            f"point the environment at {target}: update the Redis secret's URL"
            " (Secrets Manager) and restart the API and workers",
            "group",
        ),
    )
    plan.show(out)
    if dry_run:
        print("(dry run: nothing started)", file=out)
        return target
    members = group.get("MemberClusters", [])
    elasticache.create_replication_group(
        ReplicationGroupId=target,
        ReplicationGroupDescription=f"restore of {source} from {snapshot['SnapshotName']}",
        SnapshotName=snapshot["SnapshotName"],
        CacheNodeType=group.get("CacheNodeType") or snapshot.get("CacheNodeType"),
        NumCacheClusters=max(len(members), 1),
        AutomaticFailoverEnabled=group.get("AutomaticFailover") == "enabled",
        TransitEncryptionEnabled=True,
        AtRestEncryptionEnabled=True,
    )
    waiter.until(
        f"replication group {target}",
        lambda: str(
            elasticache.describe_replication_groups(ReplicationGroupId=target)["ReplicationGroups"][
                0
            ]["Status"]
        ),
        ready={"available"},
        failed={"create-failed"},
    )
    plan.show_next(out)
    return target


def _created(snapshot: dict[str, Any]) -> datetime:
    nodes = snapshot.get("NodeSnapshots") or [{}]
    created = nodes[0].get("SnapshotCreateTime")
    return created if isinstance(created, datetime) else datetime.min.replace(tzinfo=UTC)
