"""One environment (dev, prod or an ephemeral pr-<N>) on top of the shared platform."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, SUPPLIED_SECRETS, StackConfig
from infra.naming import Naming
from infra.tagging import tagged_aws_provider
from stacks.compute import build_environment_tenancy, environment_kubernetes_provider
from stacks.contract import PlatformOutputs
from stacks.data import build_environment_data
from stacks.edge import build_environment_edge
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
        settings.model_dump(
            mode="json",
            by_alias=True,
            exclude={"role", "platform", "network", *SUPPLIED_SECRETS},
        ),
    )
    data = build_environment_data(config, platform, provider)
    data.export()
    secret_arns = [data.database_secret_arn, *data.app_secret_arns.values()]
    if data.redis_secret_arn is not None:
        secret_arns.append(data.redis_secret_arn)
    kubernetes = environment_kubernetes_provider(config, platform)
    tenancy = build_environment_tenancy(
        config,
        platform,
        provider,
        kubernetes,
        images_bucket_arn=pulumi.Output.concat("arn:aws:s3:::", data.images_bucket_name),
        secret_arns=secret_arns,
        models_file_system_arn=model_store_arn(config, platform),
    )
    pulumi.export(
        "serviceAccountRoles", {"api": tenancy.api_role_arn, "worker": tenancy.worker_role_arn}
    )
    build_environment_edge(config, platform, provider, kubernetes).export()


def model_store_arn(config: StackConfig, platform: PlatformOutputs) -> pulumi.Output[str]:
    account = aws.get_caller_identity_output().account_id
    return pulumi.Output.concat(
        f"arn:aws:elasticfilesystem:{config.region}:",
        account,
        ":file-system/",
        platform.model_store_file_system_id,
    )
