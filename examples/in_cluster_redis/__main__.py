"""Redis in a preview's namespace: one pod with append-only persistence on a 1 Gi volume,
a generated password in a Kubernetes Secret, ready in seconds and gone with the stack."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.data.in_cluster_redis import InClusterRedis, InClusterRedisArgs

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")  # the current kubectl context
redis = InClusterRedis(
    "example",
    InClusterRedisArgs(namespace="pr-42", storage_size="1Gi"),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("address", redis.endpoint.address)
pulumi.export("credentialsSecret", redis.endpoint.credentials.kubernetes_secret_name)
