"""Image objects in S3: key layout, public URLs and deletion."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from botocore.config import Config


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
        public_base_url: str | None = None,
        url_ttl_seconds: int = 3600,
    ) -> None:
        self.bucket = bucket
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
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
        if self.public_base_url:
            return f"{self.public_base_url}/{key}"
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
        """Delete every version (the images buckets are versioned), then the key."""
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
