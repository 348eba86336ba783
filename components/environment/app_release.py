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
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s
import yaml

from app.chart_values import CHART_DIR, validate_release_values
from components.endpoints import DatabaseEndpoint, RedisEndpoint
from infra.merge import deep_merge

# What the release names: Pulumi runs the program in the project's directory, and a
# relative path keeps the release's inputs the same on every machine.
CHART_PATH = "./app/chart"
RELEASE_NAME = "pingvas"
IMAGES = ("api", "worker")
# The chart's values-<profile>.yaml files: each sizes one kind of environment.
ValuesProfile = Literal["dev", "prod", "ephemeral"]


def values_file(profile: ValuesProfile) -> dict[str, Any]:
    """The profile's values file (the chart's values.yaml applies underneath)."""
    path = CHART_DIR / f"values-{profile}.yaml"
    values: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    return values


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
        def images(urls: Mapping[str, Any]) -> dict[str, Any]:
            absent = [image for image in IMAGES if image not in urls]
            if absent:
                raise ValueError(
                    f"the platform's repositoryUrls has no {absent} repository "
                    "(pingvas:registry.repositories on the platform stack)"
                )
            return {
                image: {"repository": urls[image], "tag": args.images.tags[image]}
                for image in IMAGES
            }

        data, sizing, routing = args.data, args.sizing, args.routing
        redis_credentials = data.redis.credentials
        secrets: dict[str, Any] = {
            "databaseSecretArn": data.database.secret_arn,
            "appSecretArns": dict(data.app_secret_arns),
        }
        if redis_credentials.secrets_manager_arn is not None:
            secrets["redisSecretArn"] = redis_credentials.secrets_manager_arn
        migrations: dict[str, Any] = {"enabled": data.database.owner_secret_arn is not None}
        if data.database.owner_secret_arn is not None:
            migrations["schemaOwnerSecretArn"] = data.database.owner_secret_arn
        overrides: dict[str, Any] = {
            "environment": args.environment,
            "chartDigest": chart_digest(),
            "priorityClassName": sizing.priority_class_name,
            "image": pulumi.Output.from_input(args.images.repository_urls).apply(images),
            "serviceAccounts": {
                "api": args.service_accounts.api,
                "worker": args.service_accounts.worker,
                "migrations": args.service_accounts.migrations,
            },
            "aws": {"region": args.region},
            "config": {
                "s3Bucket": data.images_bucket_name,
                # No CDN: the app signs S3 URLs itself (app/core/storage.py).
                "imageBaseUrl": (
                    ""
                    if routing.images_hostname is None
                    else pulumi.Output.concat("https://", routing.images_hostname)
                ),
                # The app signs CloudFront URLs with this key and invalidates deleted images.
                "cloudfrontKeyPairId": data.cdn_key_pair_id or "",
                "cloudfrontDistributionId": data.cdn_distribution_id or "",
            },
            "secrets": secrets,
            "redis": {
                "address": data.redis.address,
                "tls": data.redis.tls,
                "auth": data.redis.auth,
                "existingSecret": redis_credentials.kubernetes_secret_name or "",
            },
            "models": {
                "fileSystemId": data.models_file_system_id,
                "accessPointId": data.models_access_point_id,
            },
            "api": {
                "replicas": sizing.api_replicas,
                "autoscaling": {"enabled": sizing.autoscaling},
                "forwardedAllowIps": pulumi.Output.from_input(routing.load_balancer_cidrs).apply(
                    lambda cidrs: ",".join(str(cidr) for cidr in cidrs)
                ),
            },
            "ingress": {
                "className": routing.ingress_class,
                "groupName": routing.ingress_group,
                "host": routing.api_hostname,
                **(
                    {}
                    if routing.load_balancer_security_group_id is None
                    else {"securityGroupId": routing.load_balancer_security_group_id}
                ),
            },
            "worker": {
                "minReplicas": sizing.gpu_workers_min,
                "maxReplicas": sizing.gpu_workers_max,
            },
            "migrations": migrations,
        }

        def merge(resolved: dict[str, Any]) -> dict[str, Any]:
            values = deep_merge(values_file(args.values_profile), resolved)
            # What Helm would refuse (values.schema.json), refused here, naming the key.
            validate_release_values(values)
            return values

        return pulumi.Output.from_input(overrides).apply(merge)
