"""A `staging` environment on a shared cluster: its namespace (restricted Pod Security),
quota, limits, no other environment's priority class, network isolation, its own secret
store, and the Pod Identity roles of its service accounts, each granted only the
environment's data."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.environment.tenancy import Tenancy, TenancyAccess, TenancyArgs

# Your platform's and environment's (the other examples' outputs).
CLUSTER_NAME = "pingvas-example"
EXTERNAL_SECRETS_ROLE_ARN = "arn:aws:iam::123456789012:role/pingvas-example-external-secrets"
STAGING = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pingvas-staging"
MODELS_FILE_SYSTEM = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0a1b2c3d"

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")  # the current kubectl context
tenancy = Tenancy(
    "example",
    TenancyArgs(
        namespace="staging",
        cluster_name=CLUSTER_NAME,
        vpc_cidr="10.0.0.0/16",
        data_subnet_cidrs=["10.0.11.0/24", "10.0.12.0/24", "10.0.13.0/24"],
        load_balancer_cidrs=["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"],
        quota_cpu=20,
        quota_memory="50Gi",
        quota_gpu=3,
        quota_pods=50,
        foreign_priority_classes=["prod-high", "dev-low", "ephemeral-low"],
        region="us-east-1",
        external_secrets_role_arn=EXTERNAL_SECRETS_ROLE_ARN,
        secret_name_prefix="pingvas-staging",  # noqa: S106 (a name, not a secret)
        labels={"pingvas.io/environment": "staging"},
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
# Once the data layer exists: what each service account may reach.
tenancy.grant(
    TenancyAccess(
        images_bucket_arn="arn:aws:s3:::pingvas-staging-images-0123",
        database_secret_arn=f"{STAGING}-database-AbCdEf",
        worker_database_secret_arn=f"{STAGING}-database-worker-AbCdEf",
        models_file_system_arn=MODELS_FILE_SYSTEM,
        schema_owner_secret_arn=f"{STAGING}-schema-owner-AbCdEf",
    )
)
pulumi.export("namespace", tenancy.namespace)
pulumi.export("apiRoleArn", tenancy.api_role_arn)
