"""The keys of an environment stack (`dev`, `prod`, `pr-<N>`, or any name with a
declared profile); the stack's profile (infra/config/profiles.py) supplies what its
stack file leaves out."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel

from infra.aws_catalog import check_cache_node_type
from infra.aws_schedules import (
    CACHE_MAINTENANCE_WINDOW_MIN,
    cache_version_problem,
    length_problem,
    overlap,
    weekly,
)
from infra.config.base import (
    DAILY_WINDOW,
    K8S_MEMORY,
    WEEKLY_WINDOW,
    ConfigModel,
    StackSettings,
)
from infra.config.messages import KeyProblem, described
from infra.config.profiles import Profile


class RedisMode(StrEnum):
    REPLICATED = "replicated"
    STANDALONE = "standalone"
    # ElastiCache Serverless (Valkey): no nodes, data kept across three zones, cluster
    # protocol only (decision 0117).
    SERVERLESS = "serverless"
    IN_CLUSTER = "in-cluster"


class PlatformSource(ConfigModel):
    # `<org>/pingvas/shared` when unset.
    stack: str | None = Field(
        default=None,
        pattern=described(
            r"^[\w.-]+(/[\w.-]+){0,2}$", "a stack reference such as acme/pingvas/shared"
        ),
    )
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
    name: str = Field(
        pattern=described(
            r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "a Kubernetes name (lower-case letters, digits and '-')",
        ),
        max_length=63,
    )
    # Kubernetes reserves values above one billion for system classes.
    value: int = Field(ge=0, le=1_000_000_000)


class ServicesConfig(ConfigModel):
    replicas: int = Field(ge=1, le=100)
    autoscaling: bool = False


class GpuWorkersConfig(ConfigModel):
    min: int = Field(ge=0)
    max: int = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _max_not_below_min(self) -> GpuWorkersConfig:
        if self.max < self.min:
            raise KeyProblem("max", f"{self.max} is below min ({self.min})")
        return self


# Keys only an ElastiCache Redis reads; no profile sets them.
_ELASTICACHE_ONLY = frozenset({"engine_version", "snapshot_window", "maintenance_window"})
# Keys only node-based ElastiCache reads: Serverless has no nodes, replicas or maintenance
# window, and picks the engine's minor version itself.
_NODES_ONLY = frozenset({"node_type", "replicas", "engine_version", "maintenance_window"})
# Keys only ElastiCache Serverless reads.
_SERVERLESS_ONLY = frozenset({"max_data_gb", "max_ecpu_per_second"})


class RedisConfig(ConfigModel):
    mode: RedisMode
    # Valkey, the open-source fork, costs less per node-hour on ElastiCache (docs/data.md).
    engine: Literal["redis", "valkey"] = "redis"
    engine_version: str | None = Field(
        default=None, pattern=described(r"^[0-9]+\.[0-9]+$", "a major.minor version such as 7.2")
    )
    node_type: Annotated[
        str,
        Field(
            pattern=described(
                r"^cache\.[a-z0-9]+\.[a-z0-9]+$", "a node type such as cache.t4g.medium"
            )
        ),
        AfterValidator(check_cache_node_type),
    ] = "cache.t4g.medium"
    # Replicas besides the primary (replicated mode only).
    replicas: int = Field(default=0, ge=0, le=5)
    snapshot_retention_days: int = Field(default=7, ge=0, le=35)
    snapshot_window: str = Field(default="02:00-03:00", pattern=DAILY_WINDOW)
    maintenance_window: str = Field(default="sun:06:00-sun:07:00", pattern=WEEKLY_WINDOW)
    # Serverless's usage limits, which bound a runaway bill (decision 0117): data stored
    # (ElastiCache accepts 1-5,000 GB) and ECPUs a second (1,000-15,000,000).
    max_data_gb: int = Field(default=1, ge=1, le=5_000)
    max_ecpu_per_second: int = Field(default=5_000, ge=1_000, le=15_000_000)

    @model_validator(mode="after")
    def _replicas_fit_the_mode(self) -> RedisConfig:
        if self.mode is RedisMode.SERVERLESS:
            return self._fits_serverless()
        for name in sorted(self.model_fields_set & _SERVERLESS_ONLY):
            key = to_camel(name)
            raise KeyProblem(key, f"only serverless mode reads it, not {self.mode}: remove {key}")
        if self.mode is RedisMode.REPLICATED and self.replicas < 1:
            raise KeyProblem("replicas", "replicated mode needs at least one replica for failover")
        if self.mode is not RedisMode.REPLICATED and self.replicas > 0:
            raise KeyProblem("replicas", f"{self.mode} mode has no replicas")
        if self.mode is RedisMode.IN_CLUSTER:
            # Set for in-cluster Redis, they would be silently ignored.
            for name in sorted(self.model_fields_set & _ELASTICACHE_ONLY):
                key = to_camel(name)
                raise KeyProblem(
                    key, f"only ElastiCache reads it, not in-cluster mode: remove {key}"
                )
            return self
        return self._fits_elasticache()

    def _fits_serverless(self) -> RedisConfig:
        # Set for Serverless, they would be silently ignored (or mean nodes it has not).
        for name in sorted(self.model_fields_set & _NODES_ONLY):
            key = to_camel(name)
            raise KeyProblem(
                key,
                f"serverless mode has no nodes and reads no {key}: remove it, "
                "or choose mode standalone or replicated",
            )
        if self.engine != "valkey":
            # Priced and decided for Valkey only (decision 0117); Redis OSS Serverless
            # costs half as much again.
            raise KeyProblem("engine", "serverless mode runs valkey: set engine to valkey")
        return self

    def _fits_elasticache(self) -> RedisConfig:
        if self.engine_version is not None:
            problem = cache_version_problem(self.engine, self.engine_version)
            if problem is not None:
                raise KeyProblem("engineVersion", problem)
        maintenance = weekly(self.maintenance_window)
        problem = length_problem(maintenance, CACHE_MAINTENANCE_WINDOW_MIN, "a maintenance window")
        if problem is not None:
            raise KeyProblem("maintenanceWindow", problem)
        if overlap(self.snapshot_window, self.maintenance_window):
            raise KeyProblem(
                "snapshotWindow",
                f"{self.snapshot_window} overlaps maintenanceWindow ({self.maintenance_window}); "
                "ElastiCache refuses windows that meet",
            )
        return self


def profile_for_redis(profile: Mapping[str, Any], own_redis: Any) -> Mapping[str, Any]:
    """The profile a stack's keys layer over: one that picks serverless mode where its
    profile runs nodes drops the profile's node keys, which Serverless refuses (a node type
    or replicas the stack sets itself are still refused, naming the key)."""
    mode = own_redis.get("mode") if isinstance(own_redis, Mapping) else None
    redis = profile.get("redis", {})
    if mode != RedisMode.SERVERLESS.value or redis.get("mode") == mode:
        return profile
    node_keys = {to_camel(name) for name in _NODES_ONLY}
    return {**profile, "redis": {k: v for k, v in redis.items() if k not in node_keys}}


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

    @model_validator(mode="after")
    def _transitions_in_order(self) -> ImagesBucketConfig:
        # S3 refuses a rule that moves objects before 30 days in Standard-IA, or expires
        # them before their last transition (docs.aws.amazon.com/AmazonS3/latest/userguide/
        # lifecycle-transition-general-considerations.html).
        ia_days, archive_days = self.ia_after_days, self.archive_after_days
        if archive_days is not None and ia_days is not None and archive_days < ia_days + 30:
            raise KeyProblem(
                "archiveAfterDays",
                f"{archive_days} must be at least 30 days after iaAfterDays ({ia_days})",
            )
        moves = {"iaAfterDays": ia_days, "archiveAfterDays": archive_days}
        set_moves = {key: days for key, days in moves.items() if days is not None}
        if self.expire_after_days is not None and set_moves:
            key, latest = max(set_moves.items(), key=lambda item: item[1])
            if self.expire_after_days <= latest:
                raise KeyProblem(
                    "expireAfterDays",
                    f"{self.expire_after_days} expires images before they move ({key}: day "
                    f"{latest}); expire later, or unset {key} (set it to null)",
                )
        return self


class CdnConfig(ConfigModel):
    """The image CDN (CloudFront) in front of the images bucket."""

    # The alias (images.<env>.<domain>) and its certificate come from the edge.
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_100"


# A Docker tag, optionally pinned to the digest CI pushed (`<tag>@sha256:<hex>`): the
# image reference `<repository>:<tag>@sha256:<hex>` pulls by the digest.
_IMAGE_TAG = described(
    r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(@sha256:[0-9a-f]{64})?$",
    "a Docker tag (letters, digits, '_', '.', '-'), optionally @sha256:<64 hex digits>",
)


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

    @model_validator(mode="after")
    def _ttl_only_for_previews(self) -> EnvironmentSettings:
        if self.ttl_hours is not None and self.profile is not Profile.EPHEMERAL:
            raise KeyProblem(
                "ttlHours",
                "only pr-<N> stacks expire; a long-lived environment ignores it: remove ttlHours",
            )
        return self
