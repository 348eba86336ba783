"""An EKS cluster in an existing VPC: private API endpoint plus your office's range,
control-plane logs, a managed system node group (Spot, two zones), the managed add-ons
with Pod Identity roles, and the gp3 storage class."""

import pulumi
import pulumi_aws as aws

from components.cluster.eks import Cluster, ClusterArgs

# Your VPC's (the network example's outputs).
VPC_ID = "vpc-0a1b2c3d4e5f60000"
PRIVATE_SUBNET_IDS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
NODES_SECURITY_GROUP_ID = "sg-0a1b2c3d4e5f60006"

aws_provider = aws.Provider("aws", region="us-east-1")
cluster = Cluster(
    "example",
    ClusterArgs(
        version="1.35",
        region="us-east-1",
        vpc_id=VPC_ID,
        private_subnet_ids=PRIVATE_SUBNET_IDS,
        system_subnet_ids=PRIVATE_SUBNET_IDS,
        node_security_group_id=NODES_SECURITY_GROUP_ID,
        public_access_cidrs=["203.0.113.0/24"],
        system_instance_types=["t3.medium"],
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("endpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
