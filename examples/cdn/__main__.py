"""A CloudFront distribution that serves `/images/*` from a private bucket through
Origin Access Control, HTTPS only, North America and Europe edges."""

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from components.data.bucket import Bucket, BucketArgs, ReadGrant
from components.edge.cdn import ImageCdn, ImageCdnArgs

aws_provider = aws.Provider("aws", region="us-east-1")
opts = pulumi.ResourceOptions(providers=[aws_provider])
# The bucket's policy names the distribution, which names the bucket: resolve it after.
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
    ImageCdnArgs(bucket_regional_domain_name=images.bucket_regional_domain_name),
    opts=opts,
)
resolve_distribution_arn(cdn.distribution_arn)
pulumi.export("domainName", cdn.domain_name)
