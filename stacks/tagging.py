"""The tags every taggable AWS resource carries, applied through the AWS provider.

Stacks create their AWS resources through `tagged_aws_provider`, whose `default_tags`
AWS merges into each resource's tags, so no component can forget them. `Pulumi.yaml`
disables the default AWS provider, so a resource that bypasses this one fails loudly.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.config import PROJECT, StackConfig

MANAGED_BY = "pulumi"


def standard_tags(config: StackConfig) -> dict[str, str]:
    tags = {
        "project": PROJECT,
        "stack": config.stack,
        "environment": "shared" if config.environment is None else config.stack,
        "managed-by": MANAGED_BY,
        "cost-center": config.cost_center,
    }
    if config.environment is not None and config.environment.ttl_hours is not None:
        tags["ttl-hours"] = str(config.environment.ttl_hours)
    return tags


def tagged_aws_provider(config: StackConfig, name: str, region: str | None = None) -> aws.Provider:
    """The stack's AWS provider; `region` for the few resources that must live elsewhere
    (CloudFront's certificate in us-east-1)."""
    return aws.Provider(
        name,
        region=region or config.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=standard_tags(config)),
    )


def child_options(
    provider: aws.Provider, kubernetes: k8s.Provider | None = None
) -> pulumi.ResourceOptions:
    """Options for a component whose AWS children must use `provider` and, for one that puts
    objects on a cluster, whose Kubernetes children must use `kubernetes` (components take
    their providers in resource options, as pulumi-eks does; children inherit them)."""
    return pulumi.ResourceOptions(
        providers=[provider] if kubernetes is None else [provider, kubernetes]
    )
