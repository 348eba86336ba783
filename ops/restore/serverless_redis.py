"""ElastiCache Serverless (Valkey, decision 0117): a new serverless cache seeded from the
cache's newest snapshot, with the same subnets, security group, user group (so the same
password), usage limits and snapshot schedule.

As for a replication group (ops/restore/redis.py), Redis holds the job queue and caches
only: the jobs a snapshot misses are found in PostgreSQL (SPEC §11, recovery points)."""

from __future__ import annotations

from typing import Any, TextIO

from ops.restore.common import Plan, RestoreError, Waiter, require
from ops.restore.redis_restore import next_steps, no_snapshot, restored_name


def serverless_cache(elasticache: Any, outputs: dict[str, Any]) -> dict[str, Any]:
    """The cache behind the stack's `redisHost`: a serverless endpoint's name carries a
    suffix AWS picks (`<name>-<suffix>.serverless.<region>.cache.amazonaws.com`), so the
    cache is found by its endpoint, not by taking the host apart."""
    host = str(require(outputs, "redisHost"))
    pages: dict[str, Any] = {}
    while True:
        page = elasticache.describe_serverless_caches(**pages)
        for cache in page["ServerlessCaches"]:
            if cache.get("Endpoint", {}).get("Address") == host:
                return dict(cache)
        if not page.get("NextToken"):
            raise RestoreError(
                f"no serverless cache answers at {host}: it is gone. Recreate it empty with"
                " `pulumi up`: the GPU workers re-enqueue unfinished jobs from PostgreSQL"
            )
        pages = {"NextToken": page["NextToken"]}


def restore_serverless_redis(
    elasticache: Any,
    outputs: dict[str, Any],
    *,
    out: TextIO,
    waiter: Waiter,
    dry_run: bool = False,
) -> str:
    """Returns the new serverless cache's name."""
    source = serverless_cache(elasticache, outputs)
    name = source["ServerlessCacheName"]
    snapshots = elasticache.describe_serverless_cache_snapshots(ServerlessCacheName=name)[
        "ServerlessCacheSnapshots"
    ]
    ready = [s for s in snapshots if s.get("Status") == "available"]
    if not ready:
        raise no_snapshot(name, "cache")
    snapshot = max(ready, key=lambda s: s["CreateTime"])
    target = restored_name(name)
    plan = Plan(
        f"Restore Redis {name} from snapshot {snapshot['ServerlessCacheSnapshotName']}"
        f" into {target}",
        steps=[
            f"create serverless cache {target} from {snapshot['ARN']}"
            f" (taken {snapshot['CreateTime']:%Y-%m-%d %H:%M} UTC), same subnets, security"
            " group, user group and usage limits",
            "wait until it is available",
        ],
        next_steps=next_steps(
            f"point the environment at {target}: put its endpoint in the Redis secret's URL"
            " (Secrets Manager; the user group, so the password, is the same) and restart"
            " the API and workers",
            "cache",
        ),
    )
    plan.show(out)
    if dry_run:
        print("(dry run: nothing started)", file=out)
        return target
    # Only what the source has: KmsKeyId is absent where ElastiCache's own key encrypts.
    same = {
        key: source[key]
        for key in (
            "MajorEngineVersion",
            "CacheUsageLimits",
            "KmsKeyId",
            "SecurityGroupIds",
            "UserGroupId",
            "SubnetIds",
            "SnapshotRetentionLimit",
            "DailySnapshotTime",
        )
        if key in source
    }
    elasticache.create_serverless_cache(
        ServerlessCacheName=target,
        Description=f"restore of {name} from {snapshot['ServerlessCacheSnapshotName']}",
        Engine=source["Engine"],
        SnapshotArnsToRestore=[snapshot["ARN"]],
        **same,
    )
    waiter.until(
        f"serverless cache {target}",
        lambda: str(_described(elasticache, target)["Status"]),
        ready={"available"},
        failed={"create-failed"},
    )
    print(f"  endpoint: {_described(elasticache, target)['Endpoint']['Address']}", file=out)
    plan.show_next(out)
    return target


def _described(elasticache: Any, name: str) -> dict[str, Any]:
    (cache,) = elasticache.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"]
    return dict(cache)
