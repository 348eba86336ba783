"""The keys of an environment stack (`dev`, `prod`, `pr-<N>`, or any name with a
declared profile); the stack's profile (infra/config/profiles.py) supplies what its
stack file leaves out."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, ValidationInfo, field_validator

from infra.aws_catalog import check_cache_node_type
from infra.config.base import (
    DAILY_WINDOW,
    K8S_MEMORY,
    WEEKLY_WINDOW,
    ConfigModel,
    StackSettings,
)
from infra.config.profiles import Profile


class RedisMode(StrEnum):
    REPLICATED = "replicated"
    STANDALONE = "standalone"
    IN_CLUSTER = "in-cluster"


class PlatformSource(ConfigModel):
    # `<org>/pingvas/shared` when unset.
    stack: str | None = Field(default=None, pattern=r"^[\w.-]+(/[\w.-]+){0,2}$")
    # Build a private platform inside this stack (a sandbox in another account).
    create: bool = False


class QuotaConfig(ConfigModel):
    cpu: Annotated[int | float, Field(ge=0)]  # cores; 0.5 is half a core
    memory: str
    gpu: int = Field(ge=0)
    pods: int = Field(ge=0)

    @field_validator("memory")
    @classmethod
    def _memory_is_a_quantity(cls, memory: str) -> str:
        if not K8S_MEMORY.match(memory):
            raise ValueError(f"{memory!r} is not a Kubernetes quantity such as '50Gi'")
        return memory


class PriorityClassConfig(ConfigModel):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    # Kubernetes reserves values above one billion for system classes.
    value: int = Field(ge=0, le=1_000_000_000)


class ServicesConfig(ConfigModel):
    replicas: int = Field(ge=1, le=100)
    autoscaling: bool = False


class GpuWorkersConfig(ConfigModel):
    min: int = Field(ge=0)
    max: int = Field(ge=0, le=100)

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, maximum: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min")
        if minimum is not None and maximum < minimum:
            raise ValueError(f"must be at least min ({minimum})")
        return maximum


class RedisConfig(ConfigModel):
    mode: RedisMode
    # Valkey, the open-source fork, costs less per node-hour on ElastiCache (docs/data.md).
    engine: Literal["redis", "valkey"] = "redis"
    engine_version: str | None = Field(default=None, pattern=r"^[0-9]+\.[0-9]+$")
    node_type: Annotated[
        str,
        Field(pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$"),
        AfterValidator(check_cache_node_type),
    ] = "cache.t4g.medium"
    # Replicas besides the primary (replicated mode only).
    replicas: int = Field(default=0, ge=0, le=5)
    snapshot_retention_days: int = Field(default=7, ge=0, le=35)
    snapshot_window: str = Field(default="02:00-03:00", pattern=DAILY_WINDOW)
    maintenance_window: str = Field(default="sun:06:00-sun:07:00", pattern=WEEKLY_WINDOW)

    @field_validator("replicas")
    @classmethod
    def _replicas_fit_the_mode(cls, replicas: int, info: ValidationInfo) -> int:
        mode = info.data.get("mode")
        if mode is RedisMode.REPLICATED and replicas < 1:
            raise ValueError("replicated mode needs at least one replica for failover")
        if mode is not RedisMode.REPLICATED and replicas > 0:
            raise ValueError(f"{mode} mode has no replicas")
        return replicas


class ImagesBucketConfig(ConfigModel):
    """Lifecycle of the environment's images bucket (SPEC §4)."""

    ia_after_days: int | None = Field(default=None, ge=30)  # S3's minimum for Standard-IA
    archive_after_days: int | None = Field(default=None, ge=1)
    # Glacier Instant Retrieval keeps old images viewable through the CDN.
    archive_storage_class: Literal["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"] = "GLACIER_IR"
    expire_after_days: int | None = Field(default=None, ge=1)
    noncurrent_expire_after_days: int = Field(default=30, ge=1)
    # Lets `pulumi destroy` delete a bucket that still holds images (ephemeral stacks).
    force_destroy: bool = False

    @field_validator("archive_after_days")
    @classmethod
    def _archive_after_ia(cls, days: int | None, info: ValidationInfo) -> int | None:
        ia_days = info.data.get("ia_after_days")
        if days is not None and ia_days is not None and days < ia_days + 30:
            raise ValueError(f"must be at least 30 days after iaAfterDays ({ia_days})")
        return days

    @field_validator("expire_after_days")
    @classmethod
    def _expire_after_transitions(cls, days: int | None, info: ValidationInfo) -> int | None:
        moves = [info.data.get("ia_after_days"), info.data.get("archive_after_days")]
        latest = max((d for d in moves if d is not None), default=None)
        if days is not None and latest is not None and days <= latest:
            raise ValueError(f"must be later than the last transition (day {latest})")
        return days


class CdnConfig(ConfigModel):
    """The image CDN (CloudFront) in front of the images bucket."""

    # The alias (images.<env>.<domain>) and its certificate come from the edge.
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_100"


# A Docker tag, optionally pinned to the digest CI pushed (`<tag>@sha256:<hex>`): the
# image reference `<repository>:<tag>@sha256:<hex>` pulls by the digest.
_IMAGE_TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[0-9a-f]{64})?$"


class ImageTagsConfig(ConfigModel):
    """The app's image tags in the platform's ECR repositories (CI sets them per build,
    with the pushed digest)."""

    api: str = Field(default="0.1.0", pattern=_IMAGE_TAG)
    worker: str = Field(default="0.1.0", pattern=_IMAGE_TAG)

    @field_validator("api", "worker")
    @classmethod
    def _names_a_build(cls, tag: str) -> str:
        # ECR tags are immutable here, and a release must name the build it deploys.
        if tag == "latest":
            raise ValueError("'latest' names no build; use the image's immutable tag")
        return tag


# Values a human supplies with `pulumi config set --secret`; never exported.
SUPPLIED_SECRETS = (
    "lemon_squeezy_api_key",
    "lemon_squeezy_webhook_secret",
    "google_client_secret",
    "discord_client_secret",
)


_SUPPLIED = "environment: a Pulumi secret (pulumi config set --secret)"


class EnvironmentSettings(StackSettings):
    """The `pingvas:*` keys of an environment stack; its profile supplies what the stack
    file leaves out."""

    # Decided with the role (infra/config/profiles.py): dev and prod by name, pr-<N>
    # always ephemeral; any other environment declares dev or prod.
    profile: Profile | None = Field(
        default=None,
        description="environment: dev or prod (its sizes, chart values, protection); "
        "from the name for dev, prod, pr-<N>",
    )
    platform: PlatformSource = Field(
        default=PlatformSource(), description="environment: which platform it runs on"
    )
    quota: QuotaConfig = Field(description="environment: the namespace's ResourceQuota")
    priority_class: PriorityClassConfig = Field(description="environment: its pods' priority")
    services: ServicesConfig = Field(description="environment: the five API services")
    gpu_workers: GpuWorkersConfig = Field(description="environment: GPU worker pods (KEDA)")
    redis: RedisConfig = Field(description="environment: ElastiCache or in-cluster Redis")
    images: ImagesBucketConfig = Field(
        default=ImagesBucketConfig(), description="environment: the images bucket's lifecycle"
    )
    cdn: CdnConfig = Field(default=CdnConfig(), description="environment: the image CDN")
    image_tags: ImageTagsConfig = Field(
        default=ImageTagsConfig(), description="environment: the app's image tags (CI sets them)"
    )
    lemon_squeezy_api_key: SecretStr | None = Field(default=None, description=_SUPPLIED)
    lemon_squeezy_webhook_secret: SecretStr | None = Field(default=None, description=_SUPPLIED)
    google_client_secret: SecretStr | None = Field(default=None, description=_SUPPLIED)
    discord_client_secret: SecretStr | None = Field(default=None, description=_SUPPLIED)
    # Ephemeral stacks carry a TTL tag that the clean-up job reads.
    ttl_hours: int | None = Field(
        default=None, ge=1, le=24 * 30, description="environment: hours an ephemeral stack lives"
    )
