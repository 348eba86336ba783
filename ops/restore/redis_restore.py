"""What a Redis restore does alike for a replication group (ops/restore/redis.py) and a
serverless cache (ops/restore/serverless_redis.py): the new resource's name, the refusal
when no snapshot is available and the steps after it."""

from __future__ import annotations

from datetime import UTC, datetime

from ops.restore.common import RestoreError


def restored_name(source: str) -> str:
    """`<source>-r<MMDDHHMM>`: replication group ids and serverless cache names are at most
    40 characters."""
    return f"{source[:28]}-r{datetime.now(UTC):%m%d%H%M}"


def no_snapshot(source: str, kind: str) -> RestoreError:
    return RestoreError(
        f"no available snapshot of {source}: nothing to restore from. Recreate the {kind}"
        " empty with `pulumi up`: the GPU workers re-enqueue unfinished jobs from PostgreSQL"
    )


def next_steps(repoint: str, kind: str) -> list[str]:
    """After the new `kind` is available: `repoint` the environment at it, then the jobs
    the snapshot missed and the stack."""
    return [
        repoint,
        "jobs queued after the snapshot are not in the restored streams: a running GPU"
        " worker re-enqueues them from PostgreSQL within its 5-minute sweep; start one"
        " if none runs (docs/runbooks/redis.md, step 4)",
        "then `pulumi up` on the environment to bring the stack back in line"
        f" (or import the new {kind})",
    ]
