"""Image URLs through the CDN (issue 13, item 10): CloudFront-signed, living exactly as long
as the presigned S3 URLs they replace, and a deleted image invalidated on the distribution.
Without a CDN (pr-<N> stacks) the URLs stay presigned S3 URLs."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import SecretStr, ValidationError

from app.core.cdn import SignedCdn
from app.core.config import Settings
from app.core.storage import ImageStorage, image_key
from tests.support.app import BUCKET, PNG

TTL = 900
BASE_URL = "https://images.dev.pingvas.example"


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, rsa.RSAPublicKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def cloudfront_signature(value: str) -> bytes:
    """CloudFront's URL-safe base64: `+=/` travel as `-_~`."""
    return base64.b64decode(value.translate(str.maketrans("-_~", "+=/")))


def verify(url: str, public_key: rsa.RSAPublicKey) -> int:
    """Checks a canned-policy signed URL as CloudFront does; returns its expiry."""
    resource, _, query = url.partition("?")
    params = {name: values[0] for name, values in parse_qs(query).items()}
    expires = int(params["Expires"])
    policy = json.dumps(
        {
            "Statement": [
                {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
            ]
        },
        separators=(",", ":"),
    )
    public_key.verify(
        cloudfront_signature(params["Signature"]),
        policy.encode(),
        padding.PKCS1v15(),
        hashes.SHA1(),  # noqa: S303 (CloudFront's canned-policy signature)
    )
    return expires


def test_cdn_urls_are_signed_and_expire_with_the_presigned_lifetime(moto_server, key_pair):
    pem, public_key = key_pair
    cdn = SignedCdn(BASE_URL + "/", "K2JCJMDEHXQW5F", pem)
    signed = ImageStorage(BUCKET, "us-east-1", moto_server.url, cdn=cdn, url_ttl_seconds=TTL)
    presigned = ImageStorage(BUCKET, "us-east-1", moto_server.url, url_ttl_seconds=TTL)
    key = image_key(uuid.uuid4())

    url = signed.url(key)
    s3_url = presigned.url(key)

    assert url.startswith(f"{BASE_URL}/{key}?")
    params = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    assert params["Key-Pair-Id"] == "K2JCJMDEHXQW5F"
    expires = verify(url, public_key)
    s3 = {name: values[0] for name, values in parse_qs(urlsplit(s3_url).query).items()}
    signed_at = datetime.strptime(s3["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    s3_expires = signed_at.timestamp() + int(s3["X-Amz-Expires"])
    assert int(s3["X-Amz-Expires"]) == TTL
    assert abs(expires - s3_expires) <= 1  # the same lifetime, from the same moment

    # Tampering is caught: another image's path under the same signature fails to verify.
    other = url.replace(key, image_key(uuid.uuid4()))
    with pytest.raises(InvalidSignature):
        verify(other, public_key)


def test_without_a_cdn_urls_are_presigned_s3(moto_server, s3):
    storage = ImageStorage(BUCKET, "us-east-1", moto_server.url, url_ttl_seconds=TTL)
    key = image_key(uuid.uuid4())
    storage.put_png(key, PNG)

    url = storage.url(key)

    assert url.startswith(f"{moto_server.url}/{BUCKET}/{key}?")
    assert "X-Amz-Signature=" in url
    assert "Key-Pair-Id" not in url


def test_a_cdn_without_its_signing_key_is_refused_at_start():
    with pytest.raises(ValidationError, match="CLOUDFRONT_KEY_PAIR_ID and CLOUDFRONT_PRIVATE_KEY"):
        Settings(
            environment="development",
            database_url="postgresql://localhost/db",
            image_base_url=BASE_URL,
        )


def test_a_non_rsa_key_is_refused():
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ValueError, match="RSA"):
        SignedCdn(BASE_URL, "K2JCJMDEHXQW5F", pem)


@pytest.fixture
def distribution_id(moto_server) -> str:
    cloudfront = boto3.client("cloudfront", endpoint_url=moto_server.url, region_name="us-east-1")
    origin = f"{BUCKET}.s3.us-east-1.amazonaws.com"
    created = cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": str(uuid.uuid4()),
            "Comment": "images",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "images-bucket",
                        "DomainName": origin,
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "images-bucket",
                "ViewerProtocolPolicy": "https-only",
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            },
        }
    )
    return str(created["Distribution"]["Id"])


def test_delete_invalidates_the_image_on_the_cdn(
    make_client, user, store_image, moto_server, key_pair, distribution_id
):
    pem, public_key = key_pair
    client = make_client(
        image_base_url=BASE_URL,
        cloudfront_key_pair_id="K2JCJMDEHXQW5F",
        cloudfront_private_key=SecretStr(pem),
        cloudfront_distribution_id=distribution_id,
        image_url_ttl_seconds=TTL,
    )
    image_id, _ = store_image(user)
    key = image_key(uuid.UUID(image_id))

    url = client.get(f"/api/images/{image_id}", headers=user.headers).json()["url"]
    assert abs(verify(url, public_key) - (time.time() + TTL)) <= 5

    assert client.delete(f"/api/images/{image_id}", headers=user.headers).status_code == 204

    cloudfront = boto3.client("cloudfront", endpoint_url=moto_server.url, region_name="us-east-1")
    invalidations = cloudfront.list_invalidations(DistributionId=distribution_id)
    [summary] = invalidations["InvalidationList"]["Items"]
    batch = cloudfront.get_invalidation(DistributionId=distribution_id, Id=summary["Id"])
    assert batch["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == [f"/{key}"]
