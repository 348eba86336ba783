"""The compute layer: the shared EKS cluster with Karpenter and add-ons (platform), and
each environment's tenancy on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster.addons import ClusterAddons, ClusterAddonsArgs
from components.cluster.eks import Cluster, ClusterArgs
from components.cluster.karpenter import GpuPool, Karpenter, KarpenterArgs
from components.cluster.platform_namespaces import platform_namespaces
from components.conventions import ENVIRONMENT_LABEL, PREVIEW_LABEL
from components.delivery.deployer_kubeconfig import (
    PREVIEW_AWS_PROFILE,
    deployer_kubeconfig,
    environment_profile,
)
from components.delivery.deployers import (
    PREVIEW_ROLES,
    PREVIEW_SCOPE,
    PREVIEW_USER_PREFIX,
    Deployers,
    DeployersArgs,
    DeployScope,
)
from components.delivery.preview_sessions import OWN_PREVIEW
from components.environment.tenancy import Tenancy, TenancyArgs
from components.iam import account_id, arn, partition
from components.network.vpc import Network
from infra.config import ENVIRONMENT_PROFILES, PlatformSettings, Profile, StackConfig
from infra.gpu_ranking import weighted_pools
from infra.naming import Naming
from stacks.contract import PlatformOutputs
from stacks.tagging import child_options, standard_tags


@dataclass(frozen=True)
class PlatformCompute:
    cluster: Cluster
    addons: ClusterAddons
    cluster_name: str
    cluster_security_group_id: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    # What every namespace's SecretStore role trusts.
    external_secrets_role_arn: pulumi.Output[str]


def build_platform_compute(
    config: StackConfig,
    settings: PlatformSettings,
    network: Network,
    provider: aws.Provider,
    models_file_system_id: pulumi.Input[str] | None,
) -> PlatformCompute:
    """The cluster and everything on it, and the platform outputs it owns."""
    naming = Naming(config.stack)
    cluster_settings = settings.cluster
    system = cluster_settings.system_nodes
    instance_tags = standard_tags(config)
    cluster = Cluster(
        naming.name("eks"),
        ClusterArgs(
            version=cluster_settings.version,
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            system_subnet_ids=network.private_subnet_ids[: system.zones],
            node_security_group_id=network.security_group_ids["nodes"],
            region=config.region,
            protect_state=config.kind.protected,
            public_access_cidrs=[str(cidr) for cidr in cluster_settings.public_access_cidrs],
            admin_role_arns=cluster_settings.admin_role_arns,
            log_retention_days=cluster_settings.log_retention_days,
            system_instance_types=system.instance_types,
            system_capacity_type=system.capacity_type,
            system_desired=system.desired,
            system_min=system.min,
            system_max=system.max,
            resource_tags=instance_tags,
            efs_file_system_id=models_file_system_id,
        ),
        opts=child_options(provider),
    )
    network_settings = settings.network
    namespaces = platform_namespaces(
        cluster.kubernetes_provider,
        parent=cluster,
        vpc_cidr=str(network_settings.cidr),
        data_subnet_cidrs=[str(cidr) for cidr in network_settings.private_subnet_cidrs],
    )
    gpu, general = cluster_settings.gpu_node_pool, cluster_settings.general_node_pool
    Karpenter(
        naming.name("karpenter"),
        KarpenterArgs(
            cluster_name=cluster.cluster_name,
            cluster_endpoint=cluster.endpoint,
            cluster_security_group_id=cluster.cluster_security_group_id,
            namespace=namespaces["karpenter"].metadata.name,
            region=config.region,
            gpu_pools=[
                GpuPool(pool.name, pool.instance_types, pool.weight)
                for pool in weighted_pools(gpu.instance_types)
            ],
            gpu_limit=gpu.gpu_limit,
            gpu_on_demand_fallback=gpu.on_demand_fallback,
            gpu_expire_after=gpu.expire_after,
            gpu_root_volume_gi=gpu.root_volume_gi,
            general_instance_categories=list(general.instance_categories),
            general_architectures=tuple(dict.fromkeys(general.architectures)),
            general_cpu_limit=general.cpu_limit,
            general_expire_after=general.expire_after,
            preview_cpu_limit=cluster_settings.preview_node_pools.cpu_limit,
            preview_gpu_limit=cluster_settings.preview_node_pools.gpu_limit,
            ami_alias=cluster_settings.ami_alias,
            instance_tags=instance_tags,
            depends_on=[cluster.system_nodes],
        ),
        opts=child_options(provider, cluster.kubernetes_provider),
    )
    addons = ClusterAddons(
        naming.name("addons"),
        ClusterAddonsArgs(
            cluster_name=cluster.cluster_name,
            region=config.region,
            vpc_id=network.vpc_id,
            namespaces=namespaces,
            resource_tags=instance_tags,
            depends_on=[cluster.system_nodes],
        ),
        opts=child_options(provider, cluster.kubernetes_provider),
    )
    return PlatformCompute(
        cluster=cluster,
        addons=addons,
        cluster_name=cluster.cluster_name,
        cluster_security_group_id=cluster.cluster_security_group_id,
        kubeconfig=cluster.kubeconfig,
        endpoint=cluster.endpoint,
        certificate_authority=cluster.certificate_authority,
        external_secrets_role_arn=addons.external_secrets_role_arn,
    )


# GitHub Actions' deploy role of each scope (the delivery layer's `<platform>-deploy-<scope>`).
GITHUB_DEPLOY_ROLE = "{platform}-deploy-{scope}"


def build_deployers(
    config: StackConfig,
    settings: PlatformSettings,
    compute: PlatformCompute,
    models_volume_handle: pulumi.Input[str],
    provider: aws.Provider,
) -> Deployers:
    """A deployer per long-lived environment (those with a schema owner) and one for
    every pr-<N>: the identities environment stacks reach the cluster with."""
    naming = Naming(config.stack)
    account = account_id(compute.cluster)
    in_partition = partition(compute.cluster)

    def scope(
        key: str, namespaces: list[str], profile: Profile, session_name: str | None = None
    ) -> DeployScope:
        priority = ENVIRONMENT_PROFILES[profile]["priorityClass"]
        github = GITHUB_DEPLOY_ROLE.format(platform=naming.prefix, scope=key)
        return DeployScope(
            key=key,
            namespaces=namespaces,
            priority_class=priority["name"],
            priority_value=priority["value"],
            assumed_by=[
                arn(in_partition, "iam", f"role/{github}", account=account),
                *settings.cluster.admin_role_arns,
            ],
            session_name=session_name,
        )

    return Deployers(
        naming.name("deployer"),
        DeployersArgs(
            cluster_name=compute.cluster_name,
            scopes=[
                *(
                    scope(env, [env], profile)
                    for env, profile in settings.environments.items()
                    # A sandbox deploys into its own cluster with the platform's
                    # kubeconfig (environment_kubernetes_provider), as no deployer.
                    if env != config.stack
                ),
                # No access policy: a preview's rights are the RoleBindings its own
                # stack makes in its namespace, for its session's username.
                scope(PREVIEW_SCOPE, [], Profile.EPHEMERAL, OWN_PREVIEW),
            ],
            models_volume_handle=models_volume_handle,
            account_id=account,
        ),
        opts=child_options(provider, compute.cluster.kubernetes_provider),
    )


def environment_kubernetes_provider(config: StackConfig, platform: PlatformOutputs) -> k8s.Provider:
    """Deploys into the platform's cluster as the environment's AWS CLI profile: its
    deployer role (components/delivery/deployers.py), which can change only this
    environment's namespace. A sandbox that makes its own platform (`platform.create`)
    uses that platform's kubeconfig: the cluster is its own."""
    assert config.environment is not None
    if config.environment.platform.create:
        return k8s.Provider(
            Naming(config.stack).name("k8s"),
            kubeconfig=platform.kubeconfig,
            enable_server_side_apply=True,
        )
    scope = PREVIEW_SCOPE if config.is_ephemeral else config.stack

    def profile_of(roles: Mapping[str, pulumi.Input[str]]) -> str:
        """The AWS CLI profile the kubeconfig signs with: its identity is the profile's on
        the machine running Pulumi (deployer_kubeconfig.py), the scope's deployer when it
        deploys; the platform must have that deployer, else no deploy could sign."""
        if scope not in roles:
            raise pulumi.RunError(
                f"the platform has no deployer for {config.stack}: add {config.stack} to "
                "pingvas:environments on the platform stack"
            )
        return PREVIEW_AWS_PROFILE if config.is_ephemeral else environment_profile(config.stack)

    profile = pulumi.Output.from_input(platform.deployer_role_arns).apply(profile_of)
    return k8s.Provider(
        Naming(config.stack).name("k8s"),
        kubeconfig=deployer_kubeconfig(
            platform.cluster_name,
            platform.cluster_endpoint,
            platform.cluster_certificate_authority,
            profile,
            config.region,
        ),
        enable_server_side_apply=True,
    )


def build_environment_tenancy(
    config: StackConfig,
    platform: PlatformOutputs,
    provider: aws.Provider,
    kubernetes: k8s.Provider,
) -> Tenancy:
    """The environment's namespace and identities; `Tenancy.grant` attaches their
    permissions once the data layer exists."""
    settings = config.environment
    if settings is None:
        raise ValueError(f"stack {config.stack} is not an environment")
    naming = Naming(config.stack)
    own_class = settings.priority_class.name
    return Tenancy(
        naming.name("tenancy"),
        TenancyArgs(
            namespace=config.stack,
            cluster_name=platform.cluster_name,
            vpc_cidr=platform.vpc_cidr,
            data_subnet_cidrs=platform.private_subnet_cidrs,
            load_balancer_cidrs=platform.public_subnet_cidrs,
            quota_cpu=settings.quota.cpu,
            quota_memory=settings.quota.memory,
            quota_gpu=settings.quota.gpu,
            quota_pods=settings.quota.pods,
            foreign_priority_classes=sorted(
                {
                    profile["priorityClass"]["name"]
                    for profile in ENVIRONMENT_PROFILES.values()
                    if profile["priorityClass"]["name"] != own_class
                }
            ),
            region=config.region,
            external_secrets_role_arn=platform.external_secrets_role_arn,
            secret_name_prefix=naming.prefix,
            # A preview's own PostgreSQL superuser (stacks/environment_data.py): the
            # migration hook's.
            store_denied_secret_names=(
                [naming.name("postgres-master")] if config.is_ephemeral else []
            ),
            # A preview's deployer has no access policy: its own user's rights here.
            deployer_user=PREVIEW_USER_PREFIX + config.stack if config.is_ephemeral else None,
            deployer_roles=PREVIEW_ROLES,
            labels={
                ENVIRONMENT_LABEL: config.stack,
                # Lets the namespace use the platform's shared preview ingress, under its
                # admission rules (components/edge/preview_ingress.py).
                **({PREVIEW_LABEL: "true"} if config.is_ephemeral else {}),
            },
        ),
        opts=child_options(provider, kubernetes),
    )
