"""Redis on ElastiCache as prod runs it: a primary and one replica in two zones,
automatic failover, TLS with a generated AUTH token kept in Secrets Manager."""

import pulumi
import pulumi_aws as aws

from components.data.managed_redis import ManagedRedis, ManagedRedisArgs, ManagedRedisMode

# Your VPC's private subnets and the group that admits Redis from the nodes.
PRIVATE_SUBNET_IDS = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
REDIS_SECURITY_GROUP_ID = "sg-0a1b2c3d4e5f60005"

aws_provider = aws.Provider("aws", region="us-east-1")
redis = ManagedRedis(
    "example",
    ManagedRedisArgs(
        mode=ManagedRedisMode.REPLICATED,
        replication_group_id="pingvas-example-redis",
        secret_name="pingvas-example-redis",  # noqa: S106 (a name, not a secret)
        subnet_ids=PRIVATE_SUBNET_IDS,
        security_group_id=REDIS_SECURITY_GROUP_ID,
        availability_zones=["us-east-1a", "us-east-1b"],
        node_type="cache.t4g.medium",
        replicas=1,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("address", redis.endpoint.address)
pulumi.export("secretArn", redis.endpoint.credentials.secrets_manager_arn)
