"""The image CDN's URL-signing key: a Pulumi-generated RSA key pair, its public half in a
CloudFront key group that a distribution's `/images/*` behaviour trusts, its private half
a secret for the API."""

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from components.bucket import Bucket, BucketArgs, ReadGrant
from components.cdn import ImageCdn, ImageCdnArgs
from components.url_signing import UrlSigningKey

aws_provider = aws.Provider("aws", region="us-east-1")
opts = pulumi.ResourceOptions(providers=[aws_provider])
signing_key = UrlSigningKey("example-signing", opts=opts)
distribution_arn: pulumi.Output[str]
resolve_distribution_arn: Callable[[pulumi.Output[str]], None]
distribution_arn, resolve_distribution_arn = pulumi.deferred_output()
images = Bucket(
    "images",
    BucketArgs(
        bucket_name="pingvas-example-images-0123",
        read_grants=[ReadGrant(distribution_arn=distribution_arn, prefix="images/")],
    ),
    opts=opts,
)
cdn = ImageCdn(
    "example",
    ImageCdnArgs(
        bucket_regional_domain_name=images.bucket_regional_domain_name,
        trusted_key_group_ids=[signing_key.key_group_id],
    ),
    opts=opts,
)
resolve_distribution_arn(cdn.distribution_arn)
pulumi.export("keyPairId", signing_key.key_pair_id)
pulumi.export("privateKeyPem", signing_key.private_key_pem)  # shown as [secret]
