"""One environment (dev, prod or an ephemeral pr-<N>) on top of the shared platform."""

from __future__ import annotations

import pulumi

from infra.config import PROJECT, StackConfig
from infra.naming import Naming
from infra.tagging import tagged_aws_provider
from stacks.contract import PlatformOutputs
from stacks.platform import build_platform


def platform_stack_name(config: StackConfig) -> str:
    assert config.environment is not None
    return config.environment.platform.stack or f"{pulumi.get_organization()}/{PROJECT}/shared"


def main(config: StackConfig) -> None:
    settings = config.environment
    if settings is None:
        raise ValueError(f"stack {config.stack} is not an environment")
    provider = tagged_aws_provider(config, Naming(config.stack).name("aws"))
    if settings.platform.create:
        platform = build_platform(config, provider)
    else:
        reference_name = platform_stack_name(config)
        platform = PlatformOutputs.from_stack_reference(pulumi.StackReference(reference_name))
        pulumi.export("platformStack", reference_name)

    pulumi.export("namespace", config.stack)
    pulumi.export("vpcId", platform.vpc_id)
    pulumi.export("privateSubnetIds", platform.private_subnet_ids)
    pulumi.export(
        "settings",
        settings.model_dump(mode="json", by_alias=True, exclude={"role", "platform", "network"}),
    )
