"""Image objects in S3: key layout, URLs and deletion."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config

from app.core.cdn import SignedCdn


def image_key(image_id: uuid.UUID) -> str:
    """``images/<image id>.png`` — CloudFront serves ``/images/*``. Opaque: an image's URL
    names neither its owner nor its job (the row in ``images`` holds both)."""
    return f"images/{image_id}.png"


class ImageStorage:
    def __init__(
        self,
        bucket: str,
        region: str,
        endpoint_url: str | None = None,
        cdn: SignedCdn | None = None,
        url_ttl_seconds: int = 3600,
    ) -> None:
        self.bucket = bucket
        self.cdn = cdn
        self.url_ttl_seconds = url_ttl_seconds
        self.s3: Any = boto3.client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(
                retries={"mode": "standard", "max_attempts": 3}, signature_version="s3v4"
            ),
        )

    def url(self, key: str) -> str:
        """A URL that reads the image for ``url_ttl_seconds``: signed for the CDN when there
        is one, else a presigned S3 URL (pr-<N> stacks have no CDN)."""
        if self.cdn is not None:
            return self.cdn.url(key, datetime.now(UTC) + timedelta(seconds=self.url_ttl_seconds))
        url: str = self.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=self.url_ttl_seconds,
        )
        return url

    def put_png(self, key: str, data: bytes) -> None:
        """Used by the GPU worker."""
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="image/png")

    def delete(self, key: str) -> None:
        """Delete every version (the images buckets are versioned), then the key, then the
        CDN's cached copies (a URL signed before the deletion would still be served)."""
        versions = self.s3.list_object_versions(Bucket=self.bucket, Prefix=key)
        to_delete = [
            {"Key": item["Key"], "VersionId": item["VersionId"]}
            for item in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
            if item["Key"] == key
        ]
        if to_delete:
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": to_delete})
        else:
            self.s3.delete_object(Bucket=self.bucket, Key=key)
        if self.cdn is not None:
            self.cdn.invalidate(key)
