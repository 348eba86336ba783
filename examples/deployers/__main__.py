"""Scoped deployers on a shared cluster: a deployer role for `staging` whose EKS access is
the Edit policy on its namespace, one for every `pr-<N>` preview, the ClusterRole and
admission policy that hold each to its own names, and the priority classes."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.delivery.deployers import Deployers, DeployersArgs, DeployScope

# Your platform's (the other examples' outputs) and who deploys (e.g. CI's role).
ACCOUNT_ID = "123456789012"
CLUSTER_NAME = "pingvas-example"
CI_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/ci-deploy"
MODELS_VOLUME_HANDLE = "fs-0a1b2c3d::fsap-0a1b2c3d4e5f"  # file system::access point

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")  # the current kubectl context
deployers = Deployers(
    "example-deployer",
    DeployersArgs(
        cluster_name=CLUSTER_NAME,
        scopes=[
            DeployScope("staging", ["staging"], "staging-low", 100000, [CI_ROLE]),
            DeployScope("pr", ["pr-*"], "ephemeral-low", 10000, [CI_ROLE]),
        ],
        models_volume_handle=MODELS_VOLUME_HANDLE,
        account_id=ACCOUNT_ID,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("deployerRoleArns", deployers.role_arns)
