"""A private, versioned bucket that moves objects to Infrequent Access after 30 days and
expires old versions, with ALB access logs allowed under `alb/`."""

import pulumi
import pulumi_aws as aws

from components.data.bucket import Bucket, BucketArgs, LifecycleRule, LoadBalancerLogsGrant

aws_provider = aws.Provider("aws", region="us-east-1")
bucket = Bucket(
    "example",
    BucketArgs(
        bucket_name="pingvas-example-logs-0123",
        lifecycle_rules=[LifecycleRule(id="logs", ia_after_days=30, expire_after_days=365)],
        load_balancer_logs=LoadBalancerLogsGrant(region="us-east-1", prefix="alb/"),
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("bucketName", bucket.bucket_name)
pulumi.export("bucketArn", bucket.bucket_arn)
