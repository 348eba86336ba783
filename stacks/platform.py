"""The shared platform: one per account and region, hosting every environment."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.network.vpc import NatGateways, Network, NetworkArgs
from infra.config import StackConfig
from infra.naming import Naming
from stacks.compute import build_deployers, build_platform_compute
from stacks.contract import PlatformOutputs
from stacks.data import build_platform_data, build_schema_owners
from stacks.delivery import build_deploy_roles
from stacks.edge import build_platform_edge
from stacks.operations import build_notifications, build_platform_operations
from stacks.tagging import child_options, tagged_aws_provider


def build_platform(config: StackConfig, provider: aws.Provider) -> PlatformOutputs:
    """Builds the platform's resources; also used by sandboxes with `platform.create`."""
    if config.platform is None:
        raise ValueError(f"stack {config.stack} has no platform configuration")
    naming = Naming(config.stack)
    settings = config.platform.network
    network = Network(
        naming.prefix,
        NetworkArgs(
            region=config.region,
            availability_zones=settings.availability_zones,
            cidr=str(settings.cidr),
            public_subnet_cidrs=[str(cidr) for cidr in settings.public_subnet_cidrs],
            private_subnet_cidrs=[str(cidr) for cidr in settings.private_subnet_cidrs],
            nat_mode=NatGateways(settings.nat_mode.value),
            karpenter_discovery=naming.name("eks"),
            redis_security_groups=list(config.platform.environments),
            flow_logs=settings.flow_logs.enabled,
            flow_log_retention_days=settings.flow_logs.retention_days,
            flow_log_traffic_type=settings.flow_logs.traffic_type,
        ),
        opts=child_options(provider),
    )
    notifications = build_notifications(config, provider)
    data = build_platform_data(config, config.platform, network, provider, notifications.topic_arn)
    compute = build_platform_compute(
        config, config.platform, network, provider, data.model_store_file_system_id
    )
    build_platform_operations(
        config,
        config.platform,
        provider,
        notifications,
        compute.cluster,
        data,
        str(settings.cidr),
        compute.external_secrets_role_arn,
        compute.addons.external_secrets,
    )
    edge = build_platform_edge(
        config,
        config.platform,
        compute.cluster,
        provider,
        logs_bucket_name=data.logs_bucket_name,
        load_balancer_controller=compute.addons,
    )
    schema_owners = build_schema_owners(config, config.platform, data, compute, provider)
    deployers = build_deployers(
        config,
        config.platform,
        compute,
        pulumi.Output.concat(
            data.model_store_file_system_id, "::", data.model_store_access_point_id
        ),
        provider,
    )
    return PlatformOutputs(
        region=config.region,
        vpc_id=network.vpc_id,
        vpc_cidr=str(settings.cidr),
        availability_zones=settings.availability_zones,
        public_subnet_ids=network.public_subnet_ids,
        private_subnet_ids=network.private_subnet_ids,
        security_group_ids=network.security_group_ids,
        public_subnet_cidrs=[str(cidr) for cidr in settings.public_subnet_cidrs],
        private_subnet_cidrs=[str(cidr) for cidr in settings.private_subnet_cidrs],
        cluster_name=compute.cluster_name,
        cluster_security_group_id=compute.cluster_security_group_id,
        # An exec kubeconfig (`aws eks get-token`) holds no credential; nothing in shared's
        # outputs is secret, so environments read them without shared's state key.
        kubeconfig=pulumi.Output.unsecret(compute.kubeconfig),
        cluster_endpoint=compute.endpoint,
        cluster_certificate_authority=compute.certificate_authority,
        deployer_role_arns=deployers.role_arns,
        external_secrets_role_arn=compute.external_secrets_role_arn,
        waf_acl_arn=edge.waf_acl_arn,
        domain=edge.domain,
        hosted_zone_id=edge.hosted_zone_id,
        preview_ingress_class=edge.preview_ingress_class,
        preview_ingress_group=edge.preview_ingress_group,
        aurora_writer_endpoint=data.aurora_writer_endpoint,
        aurora_reader_endpoint=data.aurora_reader_endpoint,
        aurora_port=data.aurora_port,
        aurora_database_name=data.aurora_database_name,
        schema_owner_secret_arns=schema_owners.secret_arns,
        model_store_file_system_id=data.model_store_file_system_id,
        model_store_access_point_id=data.model_store_access_point_id,
        models_bucket_name=data.models_bucket_name,
        logs_bucket_name=data.logs_bucket_name,
        repository_urls=data.repository_urls,
        operations_topic_arn=notifications.topic_arn,
        cache_events_topic_arn=notifications.cache_events_topic_arn,
        **build_deploy_roles(
            config,
            config.platform,
            provider,
            compute.cluster_name,
            compute.cluster.kubernetes_provider,
        ),
    )


def main(config: StackConfig) -> None:
    provider = tagged_aws_provider(config, Naming(config.stack).name("aws"))
    build_platform(config, provider).export()
