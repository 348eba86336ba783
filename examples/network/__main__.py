"""A VPC over three zones: public and private subnets, one NAT gateway, the S3 endpoint,
flow logs, and the security groups SPEC §2 lists."""

import pulumi
import pulumi_aws as aws

from components.network.vpc import Network, NetworkArgs

aws_provider = aws.Provider("aws", region="us-east-1")
network = Network(
    "example",
    NetworkArgs(
        region="us-east-1",
        availability_zones=["us-east-1a", "us-east-1b", "us-east-1c"],
        cidr="10.20.0.0/16",
        public_subnet_cidrs=["10.20.1.0/24", "10.20.2.0/24", "10.20.3.0/24"],
        private_subnet_cidrs=["10.20.11.0/24", "10.20.12.0/24", "10.20.13.0/24"],
        redis_security_groups=["dev"],
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("vpcId", network.vpc_id)
pulumi.export("privateSubnetIds", network.private_subnet_ids)
pulumi.export("securityGroupIds", network.security_group_ids)
