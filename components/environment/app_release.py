"""The app on the cluster: a Helm release of the local chart `app/chart/` into the
environment's namespace (issue 8).

The chart's `values-<profile>.yaml` sizes the environment; everything that names a real
resource (images, hostnames, the ALB ingress class and group, bucket, CDN, secret ARNs,
Redis, the model store, the service accounts) comes from the stack's outputs through
`AppReleaseArgs` (grouped: sizing, images, routing, service accounts, data), so the
release never carries a hand-copied value or a secret. Data stores arrive typed
(components/endpoints.py): nothing here parses a URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from app import chart_values as chart
from app.chart_layers import ValuesLayers
from app.chart_values import CHART_DIR, ValuesProfile
from app.chart_workloads import RELEASE
from components.conventions import ANYWHERE, Placement
from components.endpoints import DatabaseEndpoint, RedisEndpoint

# What the release names: Pulumi runs the program in the project's directory, and a
# relative path keeps the release's inputs the same on every machine.
CHART_PATH = "./app/chart"
RELEASE_NAME = RELEASE
IMAGES = ("api", "worker")


def chart_digest() -> str:
    """A digest of the chart's files: Helm does not version a local chart's edits, so the
    release's values carry it and any change to the chart upgrades the release."""
    digest = hashlib.sha256()
    for path in sorted(CHART_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(CHART_DIR).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Sizing:
    """How big the environment runs."""

    priority_class_name: str
    api_replicas: int
    autoscaling: bool
    gpu_workers_min: int
    gpu_workers_max: int
    # Where its pods run (a preview's: the preview node pools, components/conventions.py).
    placement: Placement = ANYWHERE


@dataclass(frozen=True)
class Images:
    # image (api, worker) → ECR repository URL, and the tag to deploy.
    repository_urls: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    tags: Mapping[str, str]


@dataclass(frozen=True)
class Routing:
    """How requests reach the app: the ALB's ingress class and group, the hostnames."""

    ingress_class: pulumi.Input[str]
    ingress_group: pulumi.Input[str]
    api_hostname: pulumi.Input[str]
    images_hostname: pulumi.Input[str] | None  # the image CDN's alias; None: no CDN
    # The ALB's subnets: uvicorn trusts X-Forwarded-For only from there.
    load_balancer_cidrs: pulumi.Input[Sequence[pulumi.Input[str]]]
    # The network's ALB security group, attached to the environment's own load balancer
    # (None: the stack joins the platform's shared preview ALB).
    load_balancer_security_group_id: pulumi.Input[str] | None


@dataclass(frozen=True)
class ServiceAccounts:
    api: str
    worker: str
    migrations: str


@dataclass(frozen=True)
class AppData:
    """The data stores, as the data layer typed them, and the app's own secrets."""

    images_bucket_name: pulumi.Input[str]
    database: DatabaseEndpoint
    redis: RedisEndpoint
    app_secret_arns: Mapping[str, pulumi.Input[str]]
    models_file_system_id: pulumi.Input[str]
    models_access_point_id: pulumi.Input[str]
    # The image CDN's URL-signing key (its private half is in `app_secret_arns`) and
    # distribution; None without a CDN.
    cdn_key_pair_id: pulumi.Input[str] | None = None
    cdn_distribution_id: pulumi.Input[str] | None = None


@dataclass
class AppReleaseArgs:
    environment: str  # the environment's name, e.g. dev, prod or pr-<N>
    values_profile: ValuesProfile  # which values file sizes it
    namespace: pulumi.Input[str]
    region: str
    sizing: Sizing
    images: Images
    routing: Routing
    service_accounts: ServiceAccounts
    data: AppData
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class AppRelease(pulumi.ComponentResource):
    values: pulumi.Output[dict[str, Any]]
    release_status: pulumi.Output[Any]

    def __init__(
        self, name: str, args: AppReleaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:app:AppRelease", name, None, opts)
        missing = set(IMAGES) - set(args.images.tags)
        if missing:
            raise ValueError(f"AppReleaseArgs.images.tags lacks {sorted(missing)}")
        self.values = self._values(args)
        release = k8s.helm.v3.Release(
            name,
            name=RELEASE_NAME,
            chart=CHART_PATH,
            namespace=args.namespace,
            values=self.values,
            # Hooks (the migration Job) run, and the release waits for rollouts.
            atomic=False,
            timeout=900,
            opts=pulumi.ResourceOptions(parent=self, depends_on=args.depends_on),
        )
        self.release_status = release.status
        self.register_outputs({"values": self.values})

    @staticmethod
    def _values(args: AppReleaseArgs) -> pulumi.Output[dict[str, Any]]:
        """What Helm is handed: the profile's values file, then the release's overrides,
        checked against the chart's model (what Helm would refuse, refused here)."""
        data, routing = args.data, args.routing
        resolved = pulumi.Output.all(
            repository_urls=args.images.repository_urls,
            images_bucket_name=data.images_bucket_name,
            images_hostname=routing.images_hostname,
            cdn_key_pair_id=data.cdn_key_pair_id,
            cdn_distribution_id=data.cdn_distribution_id,
            database_secret_arn=data.database.secret_arn,
            worker_database_secret_arn=data.database.worker_secret_arn,
            owner_secret_arn=data.database.owner_secret_arn,
            app_secret_arns=dict(data.app_secret_arns),
            redis_address=data.redis.address,
            redis_secret_arn=data.redis.credentials.secrets_manager_arn,
            redis_secret_name=data.redis.credentials.kubernetes_secret_name,
            models_file_system_id=data.models_file_system_id,
            models_access_point_id=data.models_access_point_id,
            load_balancer_cidrs=routing.load_balancer_cidrs,
            ingress_class=routing.ingress_class,
            ingress_group=routing.ingress_group,
            api_hostname=routing.api_hostname,
            load_balancer_security_group_id=routing.load_balancer_security_group_id,
        )

        def layered(outputs: dict[str, Any]) -> dict[str, Any]:
            overrides = _overrides(args, outputs).overrides()
            layers = ValuesLayers(overrides, args.values_profile)
            layers.validated()
            return layers.release_values()

        return resolved.apply(layered)


def _overrides(args: AppReleaseArgs, outputs: Mapping[str, Any]) -> chart.ReleaseValues:
    """The release's values, typed by the chart's model, from `args` and their resolved
    outputs."""
    urls: Mapping[str, str] = outputs["repository_urls"]
    absent = [image for image in IMAGES if image not in urls]
    if absent:
        raise ValueError(
            f"the platform's repositoryUrls has no {absent} repository "
            "(pingvas:registry.repositories on the platform stack)"
        )
    images = {
        image: chart.Image(repository=urls[image], tag=args.images.tags[image]) for image in IMAGES
    }
    sizing, redis = args.sizing, args.data.redis
    images_hostname = outputs["images_hostname"]
    owner_secret_arn = outputs["owner_secret_arn"]
    return chart.ReleaseValues(
        environment=args.environment,
        profile=args.values_profile,
        chart_digest=chart_digest(),
        priority_class_name=sizing.priority_class_name,
        scheduling=chart.Scheduling(
            node_selector=dict(sizing.placement.node_selector),
            tolerations=[
                chart.Toleration.model_validate(dict(t)) for t in sizing.placement.tolerations
            ],
        ),
        image=chart.ReleaseImages(api=images["api"], worker=images["worker"]),
        service_accounts=chart.ServiceAccounts(
            api=args.service_accounts.api,
            worker=args.service_accounts.worker,
            migrations=args.service_accounts.migrations,
        ),
        aws=chart.Aws(region=args.region),
        config=chart.ReleaseConfig(
            s3_bucket=outputs["images_bucket_name"],
            # No CDN: the app signs S3 URLs itself (app/core/storage.py).
            image_base_url="" if images_hostname is None else f"https://{images_hostname}",
            # The app signs CloudFront URLs with this key and invalidates deleted images.
            cloudfront_key_pair_id=outputs["cdn_key_pair_id"] or "",
            cloudfront_distribution_id=outputs["cdn_distribution_id"] or "",
        ),
        secrets=chart.ReleaseSecrets(
            database_secret_arn=outputs["database_secret_arn"],
            worker_database_secret_arn=outputs["worker_database_secret_arn"],
            app_secret_arns=outputs["app_secret_arns"],
            redis_secret_arn=outputs["redis_secret_arn"],
        ),
        redis=chart.Redis(
            address=outputs["redis_address"],
            tls=redis.tls,
            auth=redis.auth,
            cluster=redis.cluster,
            existing_secret=outputs["redis_secret_name"] or "",
        ),
        models=chart.ReleaseModels(
            file_system_id=outputs["models_file_system_id"],
            access_point_id=outputs["models_access_point_id"],
        ),
        api=chart.ReleaseApi(
            replicas=sizing.api_replicas,
            autoscaling=chart.ReleaseAutoscaling(enabled=sizing.autoscaling),
            forwarded_allow_ips=",".join(str(cidr) for cidr in outputs["load_balancer_cidrs"]),
        ),
        ingress=chart.ReleaseIngress(
            class_name=outputs["ingress_class"],
            group_name=outputs["ingress_group"],
            host=outputs["api_hostname"],
            security_group_id=outputs["load_balancer_security_group_id"],
        ),
        worker=chart.ReleaseWorker(
            min_replicas=sizing.gpu_workers_min, max_replicas=sizing.gpu_workers_max
        ),
        migrations=chart.ReleaseMigrations(
            enabled=owner_secret_arn is not None, schema_owner_secret_arn=owner_secret_arn
        ),
    )
