"""The app chart (app/chart) released into an environment's namespace: five API
services behind the environment's ALB, GPU workers from zero, the migration hook. Every
value that names a real resource comes from the platform's and environment's outputs."""

import pulumi
import pulumi_kubernetes as k8s

from components.endpoints import DatabaseEndpoint, RedisEndpoint, SecretReference
from components.environment.app_release import (
    AppData,
    AppRelease,
    AppReleaseArgs,
    Images,
    Routing,
    ServiceAccounts,
    Sizing,
)
from components.environment.tenancy import (
    API_SERVICE_ACCOUNT,
    MIGRATIONS_SERVICE_ACCOUNT,
    WORKER_SERVICE_ACCOUNT,
)

# Your platform's and environment's outputs (see the other examples).
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
STAGING = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pingvas-staging"
AURORA = "pingvas-shared-aurora.cluster-abc123.us-east-1.rds.amazonaws.com"


def output(value: str) -> pulumi.Output[str]:
    return pulumi.Output.from_input(value)


kubernetes = k8s.Provider("cluster")  # the current kubectl context
release = AppRelease(
    "example",
    AppReleaseArgs(
        environment="staging",
        values_profile="dev",
        namespace="staging",
        region="us-east-1",
        sizing=Sizing(
            priority_class_name="staging-low",
            api_replicas=2,
            autoscaling=False,
            gpu_workers_min=0,
            gpu_workers_max=2,
        ),
        images=Images(
            repository_urls={
                "api": f"{REGISTRY}/pingvas-api",
                "worker": f"{REGISTRY}/pingvas-worker",
            },
            tags={"api": "0.1.0", "worker": "0.1.0"},
        ),
        routing=Routing(
            ingress_class="pingvas-staging-alb",
            ingress_group="pingvas-staging",
            api_hostname="api.staging.example.com",
            images_hostname="images.staging.example.com",
            load_balancer_cidrs=["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"],
            load_balancer_security_group_id="sg-0a1b2c3d4e5f60008",
        ),
        service_accounts=ServiceAccounts(
            api=API_SERVICE_ACCOUNT,
            worker=WORKER_SERVICE_ACCOUNT,
            migrations=MIGRATIONS_SERVICE_ACCOUNT,
        ),
        data=AppData(
            images_bucket_name="pingvas-staging-images-0123",
            database=DatabaseEndpoint(
                host=output(AURORA),
                port=pulumi.Output.from_input(5432),
                name=output("pingvas_saas"),
                schema="staging",
                user="staging_app",
                worker_user="staging_worker",
                tls=True,
                secret_arn=output(f"{STAGING}-database-AbCdEf"),
                worker_secret_arn=output(f"{STAGING}-database-worker-AbCdEf"),
                owner_secret_arn=output(f"{STAGING}-schema-owner-AbCdEf"),
            ),
            redis=RedisEndpoint(
                host=output("master.pingvas-staging.abc123.use1.cache.amazonaws.com"),
                port=6379,
                tls=True,
                auth=True,
                credentials=SecretReference(secrets_manager_arn=output(f"{STAGING}-redis-AbCdEf")),
            ),
            app_secret_arns={"JWT_SECRET": f"{STAGING}-jwt-secret-AbCdEf"},
            models_file_system_id="fs-0a1b2c3d",
            models_access_point_id="fsap-0a1b2c3d4e5f",
        ),
    ),
    opts=pulumi.ResourceOptions(providers=[kubernetes]),
)
pulumi.export("values", release.values)
