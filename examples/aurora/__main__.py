"""Aurora PostgreSQL Serverless v2 (0.5-4 ACU) with one reader in a second zone,
encrypted with its own KMS key, an RDS-managed master secret and 7 days of backups."""

import pulumi
import pulumi_aws as aws

from components.data.aurora import Aurora, AuroraArgs

# Your VPC's private subnets and the security group that admits PostgreSQL from the nodes
# (the network example's privateSubnetIds and securityGroupIds["rds"]).
PRIVATE_SUBNET_IDS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
RDS_SECURITY_GROUP_ID = "sg-0a1b2c3d4e5f60003"

aws_provider = aws.Provider("aws", region="us-east-1")
aurora = Aurora(
    "example",
    AuroraArgs(
        cluster_identifier="pingvas-example",
        subnet_ids=PRIVATE_SUBNET_IDS,
        security_group_id=RDS_SECURITY_GROUP_ID,
        availability_zones=["us-east-1a", "us-east-1b"],
        readers=1,
        min_capacity=0.5,
        max_capacity=4,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("writerEndpoint", aurora.writer_endpoint)
pulumi.export("masterSecretArn", aurora.master_secret_arn)
