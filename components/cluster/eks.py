"""The shared EKS cluster (SPEC §3): control plane, the system node group, managed
add-ons and storage classes. Karpenter and the Helm add-ons build on its outputs."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s

from components import immutable
from components.cluster.system_capacity import max_pods, nodes_needed
from components.conventions import SYSTEM_LABEL
from components.iam import (
    PodIdentityBinding,
    access_policy_arn,
    managed_policy_arn,
    partition,
    pod_identity_role,
    trusted_by,
)

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"  # an EKS access policy
NODE_POLICIES = [  # AWS managed policies
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
]
# Add-ons EKS manages beyond the three pulumi_eks installs (VPC CNI, CoreDNS, kube-proxy):
# name → (service account, managed policy) for those that call AWS.
MANAGED_ADDONS: dict[str, tuple[str, str] | None] = {
    "eks-pod-identity-agent": None,
    "aws-ebs-csi-driver": (
        "ebs-csi-controller-sa",
        "service-role/AmazonEBSCSIDriverPolicy",
    ),
    "aws-efs-csi-driver": (
        "efs-csi-controller-sa",
        "service-role/AmazonEFSCSIDriverPolicy",
    ),
}
# Where each add-on that creates AWS resources takes extra tags for them, in its
# configuration schema (`aws eks describe-addon-configuration`): the EBS driver's volumes
# and snapshots, the EFS driver's access points.
ADDON_TAG_VALUES: dict[str, tuple[str, ...]] = {
    "aws-ebs-csi-driver": ("controller", "extraVolumeTags"),
    "aws-efs-csi-driver": ("controller", "tags"),
}


# The VPC CNI hands out /28 prefixes (components/cluster/system_capacity.py).
PREFIX_DELEGATION = True


def max_pods_user_data(pods: int) -> str:
    """The launch template's user data: an AL2023 NodeConfig setting the kubelet's max pods
    (the ENI-based default ignores prefix delegation). EKS adds the cluster's own details
    to it for a managed node group whose template names no AMI."""
    node_config = {
        "apiVersion": "node.eks.aws/v1alpha1",
        "kind": "NodeConfig",
        "spec": {"kubelet": {"config": {"maxPods": pods}}},
    }
    boundary = "NODECONFIG"
    document = (
        f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Type: application/node.eks.aws\n\n"
        f"{json.dumps(node_config)}\n--{boundary}--\n"
    )
    return base64.b64encode(document.encode()).decode()


@dataclass
class ClusterArgs:
    version: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    # Where the system node group runs (SPEC: the first two zones).
    system_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    # The network's node group, which the data stores and the ALB trust.
    node_security_group_id: pulumi.Input[str]
    region: str
    # Protect what holds data (the Secrets' KMS key): the platform and prod do.
    protect_state: bool = False
    public_access_cidrs: list[str] = field(default_factory=list)
    admin_role_arns: list[str] = field(default_factory=list)
    log_retention_days: int = 30
    system_instance_types: list[str] = field(default_factory=lambda: ["t3.medium"])
    system_capacity_type: str = "SPOT"
    system_desired: int = 2
    system_min: int = 2
    system_max: int = 3
    # The stack's tags for what AWS or the cluster's controllers create outside Pulumi
    # (provider default_tags do not reach them): the node group's instances, volumes and
    # network interfaces, the EKS-made cluster security group, the VPC CNI's interfaces,
    # the CSI drivers' volumes and access points.
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    # The model store's file system, for the `efs-models` storage class.
    efs_file_system_id: pulumi.Input[str] | None = None


class Cluster(pulumi.ComponentResource):
    cluster_name: str
    kubeconfig: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    cluster_security_group_id: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    kubernetes_provider: k8s.Provider

    def __init__(
        self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:cluster:Cluster", name, None, opts)
        self._name = name
        self._args = args
        self._partition = partition(self)
        self.cluster_name = name
        child = pulumi.ResourceOptions(parent=self)

        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of {name} Kubernetes Secrets",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            # Losing the key loses every Secret in the cluster.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_state or None),
        )
        aws.kms.Alias(
            f"{name}-secrets",
            name=f"alias/{name}-secrets",
            target_key_id=secrets_key.id,
            opts=child,
        )
        # EKS writes control-plane logs here; creating it first bounds their retention.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{name}/cluster",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.eks = eks.Cluster(
            name,
            name=name,
            version=args.version,
            vpc_id=args.vpc_id,
            private_subnet_ids=args.private_subnet_ids,
            endpoint_private_access=True,
            endpoint_public_access=bool(args.public_access_cidrs),
            public_access_cidrs=args.public_access_cidrs or None,
            authentication_mode=eks.AuthenticationMode.API,
            access_entries={
                f"admin-{index}": eks.AccessEntryArgs(
                    principal_arn=arn,
                    access_policies={
                        "cluster-admin": eks.AccessPolicyAssociationArgs(
                            policy_arn=access_policy_arn(self._partition, CLUSTER_ADMIN_POLICY),
                            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(
                                type="cluster"
                            ),
                        )
                    },
                )
                for index, arn in enumerate(args.admin_role_arns)
            },
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            encryption_config_key_arn=secrets_key.arn,
            create_oidc_provider=True,
            skip_default_node_group=True,
            # The EKS-managed cluster group; nodes add the network's `nodes` group.
            skip_default_security_groups=True,
            node_associate_public_ip_address=False,
            # Enforces the tenancy NetworkPolicies. Prefix delegation: a t3.medium runs 110
            # pods instead of 17, so two system nodes hold the platform's system pods with
            # one lost (components/cluster/system_capacity.py).
            vpc_cni_options=eks.VpcCniOptionsArgs(
                enable_network_policy=True,
                enable_prefix_delegation=PREFIX_DELEGATION,
                warm_prefix_target=1,
                # The interfaces ipamd attaches to nodes (the add-on's env schema).
                configuration_values={
                    "env": {"ADDITIONAL_ENI_TAGS": json.dumps(dict(args.resource_tags))}
                },
            ),
            coredns_addon_options=eks.CoreDnsAddonOptionsArgs(enabled=True),
            kube_proxy_addon_options=eks.KubeProxyAddonOptionsArgs(enabled=True),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group]),
        )
        self.kubeconfig = pulumi.Output.secret(self.eks.kubeconfig_json)
        # The API server URL is no secret; the kubeconfig around it is.
        self.endpoint = pulumi.Output.unsecret(
            self.eks.kubeconfig_json.apply(
                lambda kubeconfig: json.loads(kubeconfig)["clusters"][0]["cluster"]["server"]
            )
        )
        self.certificate_authority = pulumi.Output.unsecret(
            self.eks.kubeconfig_json.apply(
                lambda kubeconfig: json.loads(kubeconfig)["clusters"][0]["cluster"][
                    "certificate-authority-data"
                ]
            )
        )
        self.cluster_security_group_id = self.eks.cluster_security_group_id
        # EKS makes this group; only the cluster's own tags reach the cluster, not it.
        for key, value in args.resource_tags.items():
            aws.ec2.Tag(
                f"{name}-cluster-sg-{key}",
                resource_id=self.cluster_security_group_id,
                key=key,
                value=value,
                opts=child,
            )
        self.oidc_provider_arn = self.eks.oidc_provider_arn
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=child,
        )

        self.system_nodes = self._system_node_group()
        self._managed_addons()
        self._storage_classes()

        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_security_group_id": self.cluster_security_group_id,
                "oidc_provider_arn": self.oidc_provider_arn,
            }
        )

    def _system_node_group(self) -> aws.eks.NodeGroup:
        name, args = self._name, self._args
        needed = nodes_needed(args.system_instance_types, PREFIX_DELEGATION)
        if args.system_min < needed:
            raise ValueError(
                f"system node group: min {args.system_min} < {needed}, the nodes its pods "
                f"need with one lost on {', '.join(args.system_instance_types)} "
                "(components/cluster/system_capacity.py)"
            )
        child = pulumi.ResourceOptions(parent=self)
        role, attachments = node_role(
            f"{name}-system-nodes", "EKS system node group instances", parent=self
        )
        instance_tags = {"Name": f"{name}-system", **args.resource_tags}
        template = aws.ec2.LaunchTemplate(
            f"{name}-system",
            description="EKS system nodes: IMDSv2 only, encrypted gp3 root volume",
            user_data=max_pods_user_data(
                min(max_pods(t, PREFIX_DELEGATION) for t in args.system_instance_types)
            ),
            vpc_security_group_ids=[self.cluster_security_group_id, args.node_security_group_id],
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                # Pods use Pod Identity; one hop keeps them away from the node's role.
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=50,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=instance_tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            opts=child,
        )
        return aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=self.cluster_name,
            node_role_arn=role.arn,
            subnet_ids=args.system_subnet_ids,
            capacity_type=args.system_capacity_type,
            instance_types=args.system_instance_types,
            # nodeadm reads the launch template's NodeConfig (max_pods_user_data).
            ami_type="AL2023_x86_64_STANDARD",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=args.system_desired,
                min_size=args.system_min,
                max_size=args.system_max,
            ),
            labels=SYSTEM_LABEL,
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.eks, *attachments]),
        )

    def _managed_addons(self) -> None:
        for addon, identity in MANAGED_ADDONS.items():
            associations = None
            if identity is not None:
                service_account, policy = identity
                role = pod_identity_role(
                    f"{self._name}-{addon}",
                    binding=PodIdentityBinding(
                        cluster_name=self.cluster_name,
                        region=self._args.region,
                        namespace="kube-system",
                        service_account=service_account,
                    ),
                    managed_policy_arns=[managed_policy_arn(self._partition, policy)],
                    parent=self,
                )
                associations = [
                    aws.eks.AddonPodIdentityAssociationArgs(
                        role_arn=role.arn, service_account=service_account
                    )
                ]
            aws.eks.Addon(
                f"{self._name}-{addon}",
                cluster_name=self.cluster_name,
                addon_name=addon,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                pod_identity_associations=associations,
                configuration_values=self._tag_configuration(addon),
                # Controllers need nodes to become ACTIVE.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.system_nodes]),
            )

    def _tag_configuration(self, addon: str) -> str | None:
        if addon not in ADDON_TAG_VALUES:
            return None
        *parents, leaf = ADDON_TAG_VALUES[addon]
        values: dict[str, Any] = {leaf: dict(self._args.resource_tags)}
        for key in reversed(parents):
            values = {key: values}
        return json.dumps(values)

    def _storage_classes(self) -> None:
        on_cluster = pulumi.ResourceOptions(
            parent=self, provider=self.kubernetes_provider, depends_on=[self.system_nodes]
        )
        k8s.storage.v1.StorageClass(
            f"{self._name}-gp3",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="gp3",
                annotations={"storageclass.kubernetes.io/is-default-class": "true"},
            ),
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions.merge(
                on_cluster, immutable.replaced_on(immutable.STORAGE_CLASS)
            ),
        )
        if self._args.efs_file_system_id is not None:
            k8s.storage.v1.StorageClass(
                f"{self._name}-efs-models",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="efs-models"),
                provisioner="efs.csi.aws.com",
                parameters={
                    "provisioningMode": "efs-ap",
                    "fileSystemId": self._args.efs_file_system_id,
                    "directoryPerms": "750",
                    "basePath": "/models",
                },
                reclaim_policy="Retain",
                opts=pulumi.ResourceOptions.merge(
                    on_cluster, immutable.replaced_on(immutable.STORAGE_CLASS)
                ),
            )


def node_role(
    name: str, description: str, *, parent: pulumi.Resource
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """The role of EC2 instances that join the cluster as nodes."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        name,
        description=description,
        assume_role_policy=trusted_by("ec2.amazonaws.com"),
        opts=child,
    )
    in_partition = partition(parent)
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{name}-{index}",
            role=role.name,
            policy_arn=managed_policy_arn(in_partition, policy),
            opts=child,
        )
        for index, policy in enumerate(NODE_POLICIES)
    ]
    return role, attachments
