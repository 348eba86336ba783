"""Valkey on ElastiCache Serverless as dev and prod run it: replicated across zones by AWS,
TLS, a generated password for the user group's `default` user kept in Secrets Manager,
usage limits that bound the bill and daily snapshots kept a week (decision 0117)."""

import pulumi
import pulumi_aws as aws

from components.data.serverless_redis import ServerlessRedis, ServerlessRedisArgs

# Your VPC's private subnets and the group that admits Redis from the nodes.
PRIVATE_SUBNET_IDS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
REDIS_SECURITY_GROUP_ID = "sg-0a1b2c3d4e5f60005"

aws_provider = aws.Provider("aws", region="us-east-1")
redis = ServerlessRedis(
    "example",
    ServerlessRedisArgs(
        cache_name="pingvas-example-redis",
        secret_name="pingvas-example-redis",  # noqa: S106 (a name, not a secret)
        subnet_ids=PRIVATE_SUBNET_IDS,
        security_group_id=REDIS_SECURITY_GROUP_ID,
        max_data_gb=1,
        max_ecpu_per_second=5_000,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("address", redis.endpoint.address)
pulumi.export("secretArn", redis.endpoint.credentials.secrets_manager_arn)
