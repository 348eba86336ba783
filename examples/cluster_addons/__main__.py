"""The cluster's Helm add-ons: NVIDIA device plugin and DCGM exporter on GPU nodes, the
AWS Load Balancer Controller, External Secrets, KEDA and metrics-server."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster.addons import ClusterAddons, ClusterAddonsArgs
from components.cluster.platform_namespaces import PLATFORM_NAMESPACES
from components.conventions import pod_security_labels

# Your cluster's; Kubernetes objects go through the current kubectl context.
CLUSTER_NAME = "pingvas-example"
VPC_ID = "vpc-0a1b2c3d4e5f60000"

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")
# The namespaces the add-ons that need their own live in (kube-system exists already).
namespaces = {
    name: k8s.core.v1.Namespace(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name, labels=pod_security_labels(PLATFORM_NAMESPACES[name].level)
        ),
        opts=pulumi.ResourceOptions(provider=kubernetes),
    )
    for name in ("keda", "external-secrets")
}
addons = ClusterAddons(
    "example",
    ClusterAddonsArgs(
        cluster_name=CLUSTER_NAME,
        region="us-east-1",
        vpc_id=VPC_ID,
        namespaces=namespaces,
        # Tags for the load balancers and security groups the controller creates.
        resource_tags={"stack": "example"},
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("externalSecretsRoleArn", addons.external_secrets_role_arn)
