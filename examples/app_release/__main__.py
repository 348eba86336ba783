"""The app chart (app/chart) released into an environment's namespace: five API
services behind the environment's ALB, GPU workers from zero, the migration hook. Every
value that names a real resource comes from the platform's and environment's outputs."""

import pulumi
import pulumi_kubernetes as k8s

from components.app_release import AppRelease, AppReleaseArgs
from components.tenancy import (
    API_SERVICE_ACCOUNT,
    MIGRATIONS_SERVICE_ACCOUNT,
    WORKER_SERVICE_ACCOUNT,
)

# Your platform's and environment's outputs (see the other examples).
ACCOUNT = "123456789012"
REGISTRY = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:pingvas-staging"

kubernetes = k8s.Provider("cluster")  # the current kubectl context
release = AppRelease(
    "example",
    AppReleaseArgs(
        stack="staging",
        namespace="staging",
        kubernetes_provider=kubernetes,
        region="us-east-1",
        priority_class_name="staging-low",
        api_replicas=2,
        autoscaling=False,
        gpu_workers_min=0,
        gpu_workers_max=2,
        repository_urls={"api": f"{REGISTRY}/pingvas-api", "worker": f"{REGISTRY}/pingvas-worker"},
        image_tags={"api": "0.1.0", "worker": "0.1.0"},
        api_service_account=API_SERVICE_ACCOUNT,
        worker_service_account=WORKER_SERVICE_ACCOUNT,
        migrations_service_account=MIGRATIONS_SERVICE_ACCOUNT,
        ingress_class="pingvas-staging-alb",
        ingress_group="pingvas-staging",
        api_hostname="api.staging.example.com",
        images_hostname="images.staging.example.com",
        load_balancer_cidrs=["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"],
        images_bucket_name="pingvas-staging-images-0123",
        database_secret_arn=f"{SECRET}-database-AbCdEf",
        database_master_secret_arn=f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:rds!cluster-0a1b",
        app_secret_arns={"JWT_SECRET": f"{SECRET}-jwt-secret-AbCdEf"},
        redis_url="rediss://master.pingvas-staging.abc123.use1.cache.amazonaws.com:6379/0",
        redis_auth=False,
        redis_secret_arn=f"{SECRET}-redis-AbCdEf",
        redis_kubernetes_secret=None,
        models_file_system_id="fs-0a1b2c3d",
        models_access_point_id="fsap-0a1b2c3d4e5f",
    ),
)
pulumi.export("values", release.values)
