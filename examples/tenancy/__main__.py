"""A `staging` environment on a shared cluster: its namespace (restricted Pod Security),
quota, limits, priority class, network isolation, and the Pod Identity roles of its
service accounts, each reaching only the environment's data."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.tenancy import Tenancy, TenancyArgs

# Your platform's and environment's (the other examples' outputs).
CLUSTER_NAME = "pingvas-example"
SECRETS = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pingvas-staging"
MASTER_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-0a1b2c3d"  # noqa: S105 (an ARN)
MODELS_FILE_SYSTEM = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0a1b2c3d"

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")  # the current kubectl context
tenancy = Tenancy(
    "example",
    TenancyArgs(
        namespace="staging",
        kubernetes_provider=kubernetes,
        cluster_name=CLUSTER_NAME,
        vpc_cidr="10.0.0.0/16",
        load_balancer_cidrs=["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"],
        quota_cpu=20,
        quota_memory="50Gi",
        quota_gpu=3,
        quota_pods=50,
        priority_class_name="staging-low",
        priority_value=100000,
        images_bucket_arn="arn:aws:s3:::pingvas-staging-images-0123",
        secret_arns=[f"{SECRETS}-database-AbCdEf", f"{SECRETS}-jwt-secret-AbCdEf"],
        models_file_system_arn=MODELS_FILE_SYSTEM,
        database_master_secret_arn=MASTER_SECRET,
        region="us-east-1",
        labels={"pingvas.io/environment": "staging"},
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("namespace", tenancy.namespace)
pulumi.export("apiRoleArn", tenancy.api_role_arn)
