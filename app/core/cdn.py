"""The image CDN as the API uses it: CloudFront URLs signed with the environment's key
(the distribution trusts only its key group on ``/images/*``), and invalidation of a
deleted image's path, so that no cached copy outlives the image."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class SignedCdn:
    def __init__(
        self,
        base_url: str,
        key_pair_id: str,
        private_key_pem: str,
        distribution_id: str | None = None,
        region: str = "us-east-1",
        endpoint_url: str | None = None,
    ) -> None:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("CLOUDFRONT_PRIVATE_KEY must be an RSA private key")
        self.base_url = base_url.rstrip("/")
        self.distribution_id = distribution_id

        def sign(message: bytes) -> bytes:
            # A canned policy's signature is RSA-SHA1 (what CloudFront verifies and
            # botocore's signer sends without a Hash-Algorithm parameter).
            return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303

        self._signer = CloudFrontSigner(key_pair_id, sign)
        self.cloudfront: Any = boto3.client(
            "cloudfront",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )

    def url(self, key: str, expires: datetime) -> str:
        """``<base>/<key>?Expires=…&Signature=…&Key-Pair-Id=…`` (canned policy)."""
        url: str = self._signer.generate_presigned_url(
            f"{self.base_url}/{key}", date_less_than=expires
        )
        return url

    def invalidate(self, key: str) -> None:
        """Drop ``/<key>`` from every edge cache (the first 1,000 paths a month are free;
        deletions are rare). Without a distribution id there is nothing to invalidate."""
        if self.distribution_id is None:
            return
        self.cloudfront.create_invalidation(
            DistributionId=self.distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": [f"/{key}"]},
                "CallerReference": f"delete:{key}:{uuid.uuid4()}",
            },
        )
