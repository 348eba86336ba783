"""Karpenter on an existing EKS cluster: GPU nodes (g4dn, Spot first, at most 4 GPUs)
and general nodes, the interruption queue, and its Pod Identity role."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster.karpenter import GpuPool, Karpenter, KarpenterArgs
from components.conventions import pod_security_labels

# Your cluster's (the cluster example's outputs). Kubernetes objects go through the
# current kubectl context, which must point at it.
CLUSTER_NAME = "pingvas-example"
CLUSTER_ENDPOINT = "https://0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com"
CLUSTER_SECURITY_GROUP_ID = "sg-0a1b2c3d4e5f60007"

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")
namespace = k8s.core.v1.Namespace(
    "karpenter",
    metadata=k8s.meta.v1.ObjectMetaArgs(name="karpenter", labels=pod_security_labels("restricted")),
    opts=pulumi.ResourceOptions(provider=kubernetes),
)
karpenter = Karpenter(
    "example",
    KarpenterArgs(
        cluster_name=CLUSTER_NAME,
        cluster_endpoint=CLUSTER_ENDPOINT,
        cluster_security_group_id=CLUSTER_SECURITY_GROUP_ID,
        namespace=namespace.metadata.name,
        region="us-east-1",
        # Cheapest per image first; Karpenter falls to the next pool when it cannot launch.
        gpu_pools=[
            GpuPool("g4dn-xlarge", ["g4dn.xlarge"], 100),
            GpuPool("g4dn-2xlarge", ["g4dn.2xlarge"], 90),
        ],
        gpu_limit=4,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("interruptionQueueName", karpenter.interruption_queue_name)
pulumi.export("nodeRoleName", karpenter.node_role_name)
