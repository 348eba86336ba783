"""The app on the cluster: a Helm release of the local chart `app/chart/` into the
environment's namespace (issue 8).

The chart's `values-<profile>.yaml` sizes the environment; everything that names a real
resource (images, hostnames, the ALB ingress class and group, bucket, CDN, secret ARNs,
Redis, the model store, the service accounts) comes from the stack's outputs through
`AppReleaseArgs`, so the release never carries a hand-copied value or a secret.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pulumi_kubernetes as k8s
import yaml

from infra.config import EPHEMERAL_STACK

CHART_DIR = Path(__file__).resolve().parents[1] / "app" / "chart"
# What the release names: Pulumi runs the program in the project's directory, and a
# relative path keeps the release's inputs the same on every machine.
CHART_PATH = "./app/chart"
RELEASE_NAME = "pingvas"
IMAGES = ("api", "worker")


def values_profile(stack: str) -> str:
    """Which values-<profile>.yaml sizes `stack`: dev, prod or ephemeral (pr-<N>)."""
    if EPHEMERAL_STACK.match(stack):
        return "ephemeral"
    return "prod" if stack == "prod" else "dev"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's merge of values: maps merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def profile_values(stack: str) -> dict[str, Any]:
    """The environment's values file (the chart's values.yaml applies underneath)."""
    path = CHART_DIR / f"values-{values_profile(stack)}.yaml"
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


def redis_endpoint(url: str) -> dict[str, Any]:
    """KEDA's view of the app's Redis URL: host:port and TLS, never credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"not a Redis URL: {parts.scheme}://{parts.hostname}")
    return {"address": f"{parts.hostname}:{parts.port or 6379}", "tls": parts.scheme == "rediss"}


@dataclass
class AppReleaseArgs:
    stack: str  # the environment: dev, prod or pr-<N>
    namespace: pulumi.Input[str]
    kubernetes_provider: k8s.Provider
    region: str
    priority_class_name: str
    api_replicas: int
    autoscaling: bool
    gpu_workers_min: int
    gpu_workers_max: int
    # image (api, worker) → ECR repository URL, and the tag to deploy.
    repository_urls: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    image_tags: Mapping[str, str]
    api_service_account: str
    worker_service_account: str
    migrations_service_account: str
    ingress_class: pulumi.Input[str]
    ingress_group: pulumi.Input[str]
    api_hostname: pulumi.Input[str]
    images_hostname: pulumi.Input[str] | None  # the image CDN's alias; None: no CDN
    # The ALB's subnets: uvicorn trusts X-Forwarded-For only from there.
    load_balancer_cidrs: pulumi.Input[Sequence[pulumi.Input[str]]]
    images_bucket_name: pulumi.Input[str]
    database_secret_arn: pulumi.Input[str]
    database_master_secret_arn: pulumi.Input[str]
    app_secret_arns: Mapping[str, pulumi.Input[str]]
    # Without credentials (the app reads the full URL from a Secret).
    redis_url: pulumi.Input[str]
    redis_auth: bool
    redis_secret_arn: pulumi.Input[str] | None  # ElastiCache
    redis_kubernetes_secret: pulumi.Input[str] | None  # in-cluster
    models_file_system_id: pulumi.Input[str]
    models_access_point_id: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)


class AppRelease(pulumi.ComponentResource):
    values: pulumi.Output[dict[str, Any]]
    release_status: pulumi.Output[Any]

    def __init__(
        self, name: str, args: AppReleaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:app:AppRelease", name, None, opts)
        missing = set(IMAGES) - set(args.image_tags)
        if missing:
            raise ValueError(f"AppReleaseArgs.image_tags lacks {sorted(missing)}")
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
            opts=pulumi.ResourceOptions(
                parent=self, provider=args.kubernetes_provider, depends_on=args.depends_on
            ),
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
                image: {"repository": urls[image], "tag": args.image_tags[image]}
                for image in IMAGES
            }

        secrets: dict[str, Any] = {
            "databaseSecretArn": args.database_secret_arn,
            "appSecretArns": dict(args.app_secret_arns),
        }
        redis: dict[str, Any] = {
            "auth": args.redis_auth,
            "existingSecret": args.redis_kubernetes_secret or "",
        }
        if args.redis_secret_arn is not None:
            secrets["redisSecretArn"] = args.redis_secret_arn
        overrides: dict[str, Any] = {
            "environment": args.stack,
            "chartDigest": chart_digest(),
            "priorityClassName": args.priority_class_name,
            "image": pulumi.Output.from_input(args.repository_urls).apply(images),
            "serviceAccounts": {
                "api": args.api_service_account,
                "worker": args.worker_service_account,
                "migrations": args.migrations_service_account,
            },
            "aws": {"region": args.region},
            "config": {
                "s3Bucket": args.images_bucket_name,
                # No CDN: the app signs S3 URLs itself (app/core/storage.py).
                "imageBaseUrl": (
                    ""
                    if args.images_hostname is None
                    else pulumi.Output.concat("https://", args.images_hostname)
                ),
            },
            "secrets": secrets,
            "redis": redis,
            "redisEndpoint": pulumi.Output.from_input(args.redis_url).apply(redis_endpoint),
            "models": {
                "fileSystemId": args.models_file_system_id,
                "accessPointId": args.models_access_point_id,
            },
            "api": {
                "replicas": args.api_replicas,
                "autoscaling": {"enabled": args.autoscaling},
                "forwardedAllowIps": pulumi.Output.from_input(args.load_balancer_cidrs).apply(
                    lambda cidrs: ",".join(str(cidr) for cidr in cidrs)
                ),
            },
            "ingress": {
                "className": args.ingress_class,
                "groupName": args.ingress_group,
                "host": args.api_hostname,
            },
            "worker": {"minReplicas": args.gpu_workers_min, "maxReplicas": args.gpu_workers_max},
            "migrations": {"masterSecretArn": args.database_master_secret_arn},
        }

        def merge(resolved: dict[str, Any]) -> dict[str, Any]:
            endpoint = resolved.pop("redisEndpoint")
            resolved["redis"] = {**resolved["redis"], **endpoint}
            return deep_merge(profile_values(args.stack), resolved)

        return pulumi.Output.from_input(overrides).apply(merge)
