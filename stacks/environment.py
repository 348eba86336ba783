"""One environment (dev, prod or an ephemeral pr-<N>) on top of the shared platform."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from infra.config import PROJECT, SUPPLIED_SECRETS, StackConfig
from infra.naming import Naming
from infra.tagging import tagged_aws_provider
from stacks.compute import build_environment_tenancy, environment_kubernetes_provider
from stacks.contract import PlatformOutputs
from stacks.data import build_environment_data
from stacks.edge import build_environment_edge, publish_images_alias
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
    kubernetes = environment_kubernetes_provider(config, platform)
    edge = build_environment_edge(config, platform, provider, kubernetes)
    # The service accounts' roles name the data layer's bucket and secrets, while the
    # data layer's in-cluster Redis needs the tenancy's namespace: resolve them after.
    images_bucket_arn: pulumi.Output[str]
    resolve_images_bucket_arn: Callable[[pulumi.Output[str]], None]
    images_bucket_arn, resolve_images_bucket_arn = pulumi.deferred_output()
    secret_arns: pulumi.Output[list[str]]
    resolve_secret_arns: Callable[[pulumi.Output[list[str]]], None]
    secret_arns, resolve_secret_arns = pulumi.deferred_output()
    tenancy = build_environment_tenancy(
        config,
        platform,
        provider,
        kubernetes,
        images_bucket_arn=images_bucket_arn,
        secret_arns=secret_arns,
        models_file_system_arn=model_store_arn(config, platform, provider),
    )
    data = build_environment_data(
        config,
        platform,
        provider,
        kubernetes,
        tenancy.namespace,
        cdn_alias=edge.images_hostname,
        cdn_certificate_arn=edge.cdn_certificate_arn,
    )
    resolve_images_bucket_arn(pulumi.Output.concat("arn:aws:s3:::", data.images_bucket_name))
    resolve_secret_arns(pulumi.Output.all(*data.secret_arns()))
    publish_images_alias(config, platform, edge, data.cdn_domain_name, provider)

    data.export()
    edge.export()
    pulumi.export(
        "serviceAccountRoles", {"api": tenancy.api_role_arn, "worker": tenancy.worker_role_arn}
    )


def model_store_arn(
    config: StackConfig, platform: PlatformOutputs, provider: aws.Provider
) -> pulumi.Output[str]:
    account = aws.get_caller_identity_output(
        opts=pulumi.InvokeOutputOptions(provider=provider)
    ).account_id
    return pulumi.Output.concat(
        f"arn:aws:elasticfilesystem:{config.region}:",
        account,
        ":file-system/",
        platform.model_store_file_system_id,
    )
