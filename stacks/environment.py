"""One environment (dev, prod or an ephemeral pr-<N>) on top of the shared platform."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from app.chart_values import ValuesProfile
from components.environment.app_release import (
    AppData,
    AppRelease,
    AppReleaseArgs,
    Images,
    Routing,
    ServiceAccounts,
    Sizing,
)
from components.environment.tenancy import (
    API_SERVICE_ACCOUNT,
    MIGRATIONS_SERVICE_ACCOUNT,
    WORKER_SERVICE_ACCOUNT,
    Tenancy,
    TenancyAccess,
)
from components.iam import arn, partition
from infra.config import PLATFORM_STACK, PROJECT, SUPPLIED_SECRETS, Profile, StackConfig
from infra.naming import Naming
from stacks.compute import build_environment_tenancy, environment_kubernetes_provider
from stacks.contract import PlatformOutputs
from stacks.delivery import bound_roles_to_deploy_scope
from stacks.edge import EnvironmentEdge, build_environment_edge, publish_images_alias
from stacks.environment_data import EnvironmentData, build_environment_data, pod_placement
from stacks.operations import build_environment_alarms
from stacks.platform import build_platform
from stacks.tagging import tagged_aws_provider

# The chart's values file for each profile (app/chart/values-<profile>.yaml).
VALUES_PROFILES: dict[Profile, ValuesProfile] = {
    Profile.DEV: "dev",
    Profile.PROD: "prod",
    Profile.EPHEMERAL: "ephemeral",
}


def platform_stack_name(config: StackConfig) -> str:
    assert config.environment is not None
    default = f"{pulumi.get_organization()}/{PROJECT}/{PLATFORM_STACK}"
    return config.environment.platform.stack or default


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
    bound_roles_to_deploy_scope(config, platform)

    pulumi.export("namespace", config.stack)
    pulumi.export("vpcId", platform.vpc_id)
    pulumi.export("privateSubnetIds", platform.private_subnet_ids)
    pulumi.export(
        "settings",
        settings.model_dump(
            mode="json",
            by_alias=True,
            exclude={"role", "profile", "platform", "network", *SUPPLIED_SECRETS},
        ),
    )
    kubernetes = environment_kubernetes_provider(config, platform)
    edge = build_environment_edge(config, platform, provider)
    # One direction: the namespace and identities, then the data layer in it, then the
    # identities' permissions on what the data layer made.
    tenancy = build_environment_tenancy(config, platform, provider, kubernetes)
    data = build_environment_data(
        config,
        platform,
        provider,
        kubernetes,
        tenancy.namespace,
        cdn_alias=edge.images_hostname,
        cdn_certificate_arn=edge.cdn_certificate_arn,
    )
    tenancy.grant(
        TenancyAccess(
            images_bucket_arn=arn(partition(provider), "s3", data.images_bucket_name),
            database_secret_arn=data.database.secret_arn,
            worker_database_secret_arn=data.database.worker_secret_arn,
            models_file_system_arn=model_store_arn(config, platform, provider),
            schema_owner_secret_arn=data.database.owner_secret_arn,
            cdn_distribution_arn=None if data.cdn is None else data.cdn.distribution_arn,
        )
    )
    publish_images_alias(config, platform, edge, data.cdn_domain_name, provider)
    build_app_release(config, platform, kubernetes, edge, tenancy, data)
    build_environment_alarms(config, platform, provider)

    data.export()
    edge.export()
    pulumi.export(
        "serviceAccountRoles", {"api": tenancy.api_role_arn, "worker": tenancy.worker_role_arn}
    )


def build_app_release(
    config: StackConfig,
    platform: PlatformOutputs,
    kubernetes: k8s.Provider,
    edge: EnvironmentEdge,
    tenancy: Tenancy,
    data: EnvironmentData,
) -> AppRelease:
    """The app's Helm release (app/chart), its values all from the outputs above."""
    settings = config.environment
    assert settings is not None
    profile = config.profile
    assert profile is not None  # an environment's, decided with its role
    return AppRelease(
        Naming(config.stack).name("app"),
        AppReleaseArgs(
            environment=config.stack,
            values_profile=VALUES_PROFILES[profile],
            namespace=tenancy.namespace,
            region=config.region,
            sizing=Sizing(
                priority_class_name=settings.priority_class.name,
                api_replicas=settings.services.replicas,
                autoscaling=settings.services.autoscaling,
                gpu_workers_min=settings.gpu_workers.min,
                gpu_workers_max=settings.gpu_workers.max,
                placement=pod_placement(config),
            ),
            images=Images(
                repository_urls=platform.repository_urls, tags=settings.image_tags.model_dump()
            ),
            routing=Routing(
                ingress_class=edge.ingress_class,
                ingress_group=edge.ingress_group,
                api_hostname=edge.api_hostname,
                images_hostname=edge.images_hostname,
                load_balancer_cidrs=platform.public_subnet_cidrs,
                # The platform's ALB group on the environment's own ALB; previews join the
                # platform's shared preview ALB, which they may not reconfigure.
                load_balancer_security_group_id=(
                    None
                    if config.is_ephemeral
                    else pulumi.Output.from_input(platform.security_group_ids).apply(
                        lambda groups: groups["alb"]
                    )
                ),
            ),
            service_accounts=ServiceAccounts(
                api=API_SERVICE_ACCOUNT,
                worker=WORKER_SERVICE_ACCOUNT,
                migrations=MIGRATIONS_SERVICE_ACCOUNT,
            ),
            data=AppData(
                images_bucket_name=data.images_bucket_name,
                database=data.database,
                redis=data.redis,
                app_secret_arns=data.app_secret_arns,
                cdn_key_pair_id=None if data.cdn is None else data.cdn.key_pair_id,
                cdn_distribution_id=None if data.cdn is None else data.cdn.distribution_id,
                models_file_system_id=platform.model_store_file_system_id,
                models_access_point_id=platform.model_store_access_point_id,
            ),
            depends_on=[tenancy, *data.in_cluster_servers],
        ),
        opts=pulumi.ResourceOptions(providers=[kubernetes]),
    )


def model_store_arn(
    config: StackConfig, platform: PlatformOutputs, provider: aws.Provider
) -> pulumi.Output[str]:
    account = aws.get_caller_identity_output(
        opts=pulumi.InvokeOutputOptions(provider=provider)
    ).account_id
    return arn(
        partition(provider),
        "elasticfilesystem",
        pulumi.Output.concat("file-system/", platform.model_store_file_system_id),
        region=config.region,
        account=account,
    )
