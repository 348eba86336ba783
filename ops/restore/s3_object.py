"""S3: an image object brought back from its previous version (the buckets are
versioned; a delete leaves a marker, an overwrite leaves the old version)."""

from __future__ import annotations

from typing import Any, TextIO

from ops.restore.common import Plan, RestoreError, require


def restore_object(
    s3: Any,
    outputs: dict[str, Any],
    key: str,
    *,
    out: TextIO,
    dry_run: bool = False,
) -> str:
    """Copies the newest earlier version of `key` over the current one; returns its id."""
    bucket = str(require(outputs, "imagesBucketName"))
    listing = s3.list_object_versions(Bucket=bucket, Prefix=key)
    versions = [v for v in listing.get("Versions", []) if v["Key"] == key]
    markers = [m for m in listing.get("DeleteMarkers", []) if m["Key"] == key]
    latest_marker = next((m for m in markers if m["IsLatest"]), None)
    # Deleted: the newest version is what to bring back. Overwritten: the one before it.
    candidates = [v for v in versions if latest_marker is not None or not v["IsLatest"]]
    if not candidates:
        raise RestoreError(
            f"s3://{bucket}/{key} has no earlier version: nothing to restore"
            " (noncurrent versions expire after the bucket's noncurrent retention)"
        )
    version = max(candidates, key=lambda v: v["LastModified"])
    plan = Plan(
        f"Restore s3://{bucket}/{key}",
        steps=[
            f"copy version {version['VersionId']} ({version['LastModified']:%Y-%m-%d %H:%M} UTC)"
            " over the current object (the current one stays as a noncurrent version)"
        ],
        next_steps=[
            "the CDN caches images: invalidate the path if users still see the old one"
            " (aws cloudfront create-invalidation --paths /images/...)",
        ],
    )
    plan.show(out)
    if dry_run:
        print("(dry run: nothing copied)", file=out)
        return str(version["VersionId"])
    s3.copy_object(
        Bucket=bucket,
        Key=key,
        CopySource={"Bucket": bucket, "Key": key, "VersionId": version["VersionId"]},
    )
    print(f"Restored s3://{bucket}/{key} from version {version['VersionId']}", file=out)
    plan.show_next(out)
    return str(version["VersionId"])
