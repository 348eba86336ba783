"""Cost of one image URL: CloudFront-signed (RSA 2048, app/core/cdn.py) next to the
presigned S3 URL it replaces, in the same run.

    .venv/bin/python benchmarks/image_urls.py [--urls 2000] [--rounds 5]

No network: both are computed locally (fixed dummy credentials for S3's SigV4). Prints
microseconds per URL (best of alternating rounds), the ratio, and what a full gallery
page (100 images) costs signed.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from app.core.cdn import SignedCdn
from app.core.storage import ImageStorage, image_key

PAGE = 100  # the gallery's largest page (app/api/schemas.py's Limit)


def per_url_us(storage: ImageStorage, keys: list[str]) -> float:
    start = time.perf_counter()
    for key in keys:
        storage.url(key)
    return (time.perf_counter() - start) / len(keys) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIABENCHMARK")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    presigned = ImageStorage("pingvas-bench-images", "us-east-1")
    signed = ImageStorage(
        "pingvas-bench-images",
        "us-east-1",
        cdn=SignedCdn("https://images.bench.example", "KBENCHMARK0000", pem),
    )
    keys = [image_key(uuid.uuid4()) for _ in range(args.urls)]
    best = {"presigned S3": float("inf"), "CloudFront-signed": float("inf")}
    for _ in range(args.rounds):
        best["presigned S3"] = min(best["presigned S3"], per_url_us(presigned, keys))
        best["CloudFront-signed"] = min(best["CloudFront-signed"], per_url_us(signed, keys))
    for name, microseconds in best.items():
        print(f"{name:>18}: {microseconds:8.1f} µs/URL, {microseconds * PAGE / 1000:6.1f} ms/page")
    print(f"signed / presigned: {best['CloudFront-signed'] / best['presigned S3']:.2f}x")


if __name__ == "__main__":
    main()
