"""ECR repositories for the two images: immutable tags, scan on push, the newest 30
images kept and untagged layers expired after a week."""

import pulumi
import pulumi_aws as aws

from components.data.registry import Registry, RegistryArgs

aws_provider = aws.Provider("aws", region="us-east-1")
registry = Registry(
    "example",
    RegistryArgs(
        repositories={"api": "pingvas-example-api", "worker": "pingvas-example-worker"},
        keep_images=30,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("repositoryUrls", registry.repository_urls)
