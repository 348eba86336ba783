"""Gallery: own images with working URLs, 404 for others', deletion removes the S3 object."""

from __future__ import annotations

import uuid

import botocore.exceptions
import httpx2
import pytest

from app.core.storage import ImageStorage
from tests.support.app import BUCKET, PNG


def test_list_and_get_own_images_with_working_urls(client, user, store_image):
    stored = [store_image(user) for _ in range(3)]

    page = client.get("/api/images?limit=2", headers=user.headers).json()
    rest = client.get(
        f"/api/images?limit=2&offset={page['next_offset']}", headers=user.headers
    ).json()
    assert {item["id"] for item in page["items"] + rest["items"]} == {
        image_id for image_id, _ in stored
    }

    image_id, job_id = stored[0]
    image = client.get(f"/api/images/{image_id}", headers=user.headers).json()
    assert image["job_id"] == job_id
    assert (image["width"], image["height"]) == (512, 512)
    assert httpx2.get(image["url"]).content == PNG  # a presigned URL, served by moto's S3

    job = client.get(f"/api/generations/{job_id}", headers=user.headers).json()
    assert job["status"] == "succeeded"
    assert [entry["id"] for entry in job["images"]] == [image_id]
    assert httpx2.get(job["images"][0]["url"]).content == PNG


def test_another_users_image_is_404(client, make_user, store_image):
    alice, mallory = make_user(), make_user()
    image_id, _ = store_image(alice)
    assert client.get(f"/api/images/{image_id}", headers=mallory.headers).status_code == 404
    assert client.delete(f"/api/images/{image_id}", headers=mallory.headers).status_code == 404
    assert client.get("/api/images", headers=mallory.headers).json()["items"] == []
    assert client.get(f"/api/images/{image_id}", headers=alice.headers).status_code == 200


def test_delete_removes_the_row_and_every_s3_version(client, user, store_image, s3, owner):
    image_id, _ = store_image(user)
    key = owner("SELECT s3_key FROM images WHERE id = %s", (image_id,))[0][0]

    assert client.delete(f"/api/images/{image_id}", headers=user.headers).status_code == 204

    assert client.get(f"/api/images/{image_id}", headers=user.headers).status_code == 404
    assert client.delete(f"/api/images/{image_id}", headers=user.headers).status_code == 404
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=BUCKET, Key=key)
    assert owner("SELECT count(*) FROM images WHERE id = %s", (image_id,)) == [(0,)]


def test_delete_in_a_versioned_bucket_leaves_no_version(moto_server, s3):
    bucket = f"versioned-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    storage = ImageStorage(bucket, "us-east-1", endpoint_url=moto_server.url)
    storage.put_png("images/a.png", PNG)
    storage.put_png("images/a.png", PNG + b"v2")
    storage.put_png("images/a.png.keep", PNG)

    storage.delete("images/a.png")

    versions = s3.list_object_versions(Bucket=bucket, Prefix="images/a.png")
    remaining = [v["Key"] for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])]
    assert remaining == ["images/a.png.keep"]


def test_bad_image_ids_are_422(client, user):
    assert client.get("/api/images/123", headers=user.headers).status_code == 422
    assert client.get("/api/images?limit=0", headers=user.headers).status_code == 422
    assert client.get("/api/images?limit=101", headers=user.headers).status_code == 422
    assert client.get("/api/images?offset=-1", headers=user.headers).status_code == 422


def test_when_s3_fails_the_image_row_stays(make_client, user, store_image, owner):
    from app.devservers import free_port

    image_id, _ = store_image(user)
    broken = make_client(aws_endpoint_url=f"http://127.0.0.1:{free_port()}")
    response = broken.delete(f"/api/images/{image_id}", headers=user.headers)
    assert response.status_code == 503
    assert owner("SELECT count(*) FROM images WHERE id = %s", (image_id,)) == [(1,)]
