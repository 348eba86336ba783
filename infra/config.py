"""Typed stack configuration.

Every value the program uses comes through here once, validated before any resource is
registered. A stack's `pingvas:*` keys map onto one pydantic model per role; unknown keys,
bad CIDRs, negative quotas and unsupported modes stop the program with one message that
names the offending key (`ConfigError`), never a traceback.

Defaults are SPEC's figures (docs/architecture.md). Environment stacks start from a
profile (dev, prod, or the small ephemeral `pr-<N>` profile) that their own keys
override, key by key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal, TypeVar

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from infra import config_checks
from infra.aws_catalog import (
    check_cache_node_type,
    check_eks_version,
    check_gpu_node_type,
    check_system_node_type,
)
from infra.merge import deep_merge  # one merge: profiles layer like Helm values
from infra.stack_names import (
    DNS_LABEL,
    EPHEMERAL_STACK,
    MAX_STACK_NAME_LENGTH,
    name_problem,
    role_problem,
)

PROJECT = "pingvas"
DEFAULT_REGION = "us-east-1"

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
    | {2922, 3288, 3653}
)
# A Kubernetes resource quantity such as `50Gi` or `512Mi`.
K8S_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


def _one_of(allowed: frozenset[int], what: str) -> AfterValidator:
    """A validator accepting only the values AWS offers, listing them when refusing."""

    def check(value: int) -> int:
        if value not in allowed:
            offered = ", ".join(str(choice) for choice in sorted(allowed))
            raise ValueError(f"{value} is not {what} ({offered})")
        return value

    return AfterValidator(check)


LogRetentionDays = Annotated[int, _one_of(LOG_RETENTION_DAYS, "a CloudWatch Logs retention period")]


class ConfigError(Exception):
    """Invalid stack configuration; the message names every offending key."""


class Role(StrEnum):
    PLATFORM = "platform"
    ENVIRONMENT = "environment"


class NatMode(StrEnum):
    SINGLE = "single"  # one NAT gateway in the first AZ (SPEC: saves ~$65/month over HA)
    PER_AZ = "per_az"  # one per AZ: survives an AZ outage
    NONE = "none"  # private subnets have no internet route at all


class RedisMode(StrEnum):
    REPLICATED = "replicated"
    STANDALONE = "standalone"
    IN_CLUSTER = "in-cluster"


class _Model(BaseModel):
    """Config keys are camelCase in Pulumi.<stack>.yaml; unknown keys are errors."""

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True
    )


_M = TypeVar("_M", bound=_Model)


# --- platform --------------------------------------------------------------------------


class FlowLogsConfig(_Model):
    enabled: bool = True
    retention_days: LogRetentionDays = 30
    traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = "ALL"


class NetworkConfig(_Model):
    cidr: IPv4Network = IPv4Network("10.0.0.0/16")
    availability_zones: list[str] = Field(
        default=["us-east-1a", "us-east-1b", "us-east-1c"], min_length=2, max_length=6
    )
    public_subnet_cidrs: list[IPv4Network] = [
        IPv4Network("10.0.1.0/24"),
        IPv4Network("10.0.2.0/24"),
        IPv4Network("10.0.3.0/24"),
    ]
    private_subnet_cidrs: list[IPv4Network] = [
        IPv4Network("10.0.11.0/24"),
        IPv4Network("10.0.12.0/24"),
        IPv4Network("10.0.13.0/24"),
    ]
    nat_mode: NatMode = NatMode.SINGLE
    flow_logs: FlowLogsConfig = FlowLogsConfig()
    # One Redis security group per environment that runs ElastiCache (SPEC §2).
    redis_security_groups: list[
        Annotated[str, Field(pattern=DNS_LABEL.pattern, max_length=MAX_STACK_NAME_LENGTH)]
    ] = [
        "dev",
        "prod",
    ]

    @field_validator("availability_zones")
    @classmethod
    def _zones_are_distinct(cls, zones: list[str]) -> list[str]:
        if len(set(zones)) != len(zones):
            raise ValueError("availability zones must be distinct")
        return zones

    @field_validator("public_subnet_cidrs", "private_subnet_cidrs")
    @classmethod
    def _subnets_fit_the_vpc(
        cls, subnets: list[IPv4Network], info: ValidationInfo
    ) -> list[IPv4Network]:
        vpc = info.data.get("cidr")
        zones = info.data.get("availability_zones")
        if zones is not None and len(subnets) != len(zones):
            raise ValueError(f"needs one subnet per availability zone ({len(zones)})")
        if vpc is not None:
            for subnet in subnets:
                if not subnet.subnet_of(vpc):
                    raise ValueError(f"{subnet} is not inside the VPC CIDR {vpc}")
        taken = list(info.data.get("public_subnet_cidrs") or [])
        for index, subnet in enumerate(subnets):
            for other in taken + subnets[:index]:
                if subnet.overlaps(other):
                    raise ValueError(f"{subnet} overlaps {other}")
        return subnets


_ROLE_ARN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$"
SystemNodeType = Annotated[str, AfterValidator(check_system_node_type)]
GpuNodeType = Annotated[str, AfterValidator(check_gpu_node_type)]
# The public API endpoint answers only these; anything wider than a /16 (65,536
# addresses) is the internet in all but name.
WIDEST_PUBLIC_ACCESS_PREFIX = 16


def _narrow_public_range(network: IPv4Network) -> IPv4Network:
    if network.prefixlen < WIDEST_PUBLIC_ACCESS_PREFIX:
        raise ValueError(
            f"{network} is too wide for the cluster's public endpoint (at most "
            f"/{WIDEST_PUBLIC_ACCESS_PREFIX}: list your CI and VPN egress addresses)"
        )
    if not network.is_global:
        raise ValueError(
            f"{network} is not a public range; the public endpoint only sees public addresses"
        )
    return network


class SystemNodesConfig(_Model):
    """The managed node group for system pods (SPEC §3: two t3.medium Spot nodes)."""

    instance_types: list[SystemNodeType] = Field(default=["t3.medium"], min_length=1)
    capacity_type: Literal["SPOT", "ON_DEMAND"] = "SPOT"
    desired: int = Field(default=2, ge=1)
    min: int = Field(default=2, ge=1)
    max: int = Field(default=3, ge=1, le=100, validate_default=True)
    # SPEC: the system nodes live in the first two zones.
    zones: int = Field(default=2, ge=1, le=6)

    @field_validator("max")
    @classmethod
    def _bounds_hold_desired(cls, maximum: int, info: ValidationInfo) -> int:
        desired, minimum = info.data.get("desired"), info.data.get("min")
        if minimum is not None and desired is not None and not minimum <= desired <= maximum:
            raise ValueError(f"needs min ({minimum}) <= desired ({desired}) <= max")
        return maximum


class GpuNodePoolConfig(_Model):
    """Karpenter's GPU NodePool (SPEC §3: 0-10 Spot nodes of T4 and A10G)."""

    instance_types: list[GpuNodeType] = Field(
        default=["g4dn.xlarge", "g4dn.2xlarge", "g5.xlarge"], min_length=1
    )
    # GPUs the pool may run at once: room for every long-lived environment's workers
    # (dev 3 + prod 15, SPEC §11; docs/decisions/0011-gpu-capacity.md).
    gpu_limit: int = Field(default=18, ge=0, le=1000)
    # Spot first; on-demand when no Spot capacity is offered.
    on_demand_fallback: bool = True
    expire_after: str = Field(default="720h", pattern=r"^([0-9]+(s|m|h))+$|^Never$")
    # The OS only: images and scratch live on the instance store's NVMe, the models on
    # EFS (docs/decisions/0104-gpu-images-on-instance-store.md). 20 GiB: AL2023's image.
    root_volume_gi: int = Field(default=20, ge=20, le=16_384)


class GeneralNodePoolConfig(_Model):
    """Karpenter's Spot CPU NodePool for the API services."""

    instance_categories: list[Literal["c", "m", "r", "t"]] = ["c", "m", "r"]
    cpu_limit: int = Field(default=64, ge=0)
    expire_after: str = Field(default="720h", pattern=r"^([0-9]+(s|m|h))+$|^Never$")


class ClusterConfig(_Model):
    # EKS standard support: SPEC's 1.28 is long out of it.
    version: Annotated[
        str,
        Field(pattern=r"^1\.[0-9]{2}$"),
        AfterValidator(lambda version: check_eks_version(version, date.today())),
    ] = "1.35"
    # The public API endpoint is open only to these (e.g. CI and VPN egress); empty
    # leaves the endpoint private, reachable from inside the VPC.
    public_access_cidrs: list[Annotated[IPv4Network, AfterValidator(_narrow_public_range)]] = []
    # IAM roles granted cluster admin through EKS access entries.
    admin_role_arns: list[Annotated[str, Field(pattern=_ROLE_ARN)]] = []
    log_retention_days: LogRetentionDays = 30
    # Karpenter's AMI: pin a release (e.g. `al2023@v20261101`) to roll nodes on purpose.
    ami_alias: str = Field(
        default="al2023@latest", pattern=r"^(al2023|bottlerocket)@(latest|v[0-9.]+)$"
    )
    system_nodes: SystemNodesConfig = SystemNodesConfig()
    gpu_node_pool: GpuNodePoolConfig = GpuNodePoolConfig()
    general_node_pool: GeneralNodePoolConfig = GeneralNodePoolConfig()


# --- data layer (platform) -------------------------------------------------------------

# EFS moves idle files to Infrequent Access only after one of these periods (days).
EFS_IA_DAYS = frozenset({1, 7, 14, 30, 60, 90, 180, 270, 365})
EfsLifecycleDays = Annotated[int, _one_of(EFS_IA_DAYS, "an EFS lifecycle period")]
_DAILY_WINDOW = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$"
_DAY = r"(mon|tue|wed|thu|fri|sat|sun)"
_WEEKLY_WINDOW = rf"^{_DAY}:([01][0-9]|2[0-3]):[0-5][0-9]-{_DAY}:([01][0-9]|2[0-3]):[0-5][0-9]$"


class AuroraConfig(_Model):
    """The shared Aurora Serverless v2 PostgreSQL cluster (SPEC §4, §9)."""

    engine_version: str = Field(default="16.8", pattern=r"^1[3-9]\.[0-9]+$")
    # Aurora capacity units per instance (SPEC: 0.5-4). A minimum of 0 lets a sandbox
    # pause when idle.
    min_capacity: float = Field(default=0.5, ge=0, le=256, multiple_of=0.5)
    max_capacity: float = Field(default=4, ge=1, le=256, multiple_of=0.5)
    seconds_until_auto_pause: int | None = Field(default=None, ge=300, le=86_400)
    # Readers besides the writer, each in another zone (SPEC: one, in us-east-1b).
    readers: int = Field(default=1, ge=0, le=15)
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    backup_window: str = Field(default="03:00-04:00", pattern=_DAILY_WINDOW)
    maintenance_window: str = Field(default="sun:04:30-sun:05:30", pattern=_WEEKLY_WINDOW)
    deletion_protection: bool = True
    final_snapshot: bool = True
    log_retention_days: LogRetentionDays = 30
    # Long-lived environments that own a schema in the cluster: the platform creates each
    # one's schema-owner role, and its migrations run as that role (docs/security.md).
    # Ephemeral pr-<N> stacks never touch Aurora.
    schema_owners: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9]{0,19}$")]] = [
        "dev",
        "prod",
    ]

    @field_validator("max_capacity")
    @classmethod
    def _max_not_below_min(cls, maximum: float, info: ValidationInfo) -> float:
        minimum = info.data.get("min_capacity")
        if minimum is not None and maximum < minimum:
            raise ValueError(f"must be at least minCapacity ({minimum})")
        return maximum

    @field_validator("schema_owners")
    @classmethod
    def _owners_are_long_lived(cls, owners: list[str]) -> list[str]:
        if len(set(owners)) != len(owners):
            raise ValueError(f"lists an environment twice: {owners}")
        if "shared" in owners:
            raise ValueError("'shared' is the platform, not an environment")
        return owners

    @field_validator("seconds_until_auto_pause")
    @classmethod
    def _pause_needs_zero_minimum(cls, seconds: int | None, info: ValidationInfo) -> int | None:
        if seconds is not None and info.data.get("min_capacity") != 0:
            raise ValueError("only a cluster with minCapacity 0 pauses")
        return seconds


class ModelStoreConfig(_Model):
    """EFS for the AI models (SPEC §4, §9); the models bucket sits beside it."""

    ia_after_days: EfsLifecycleDays = 30
    # AWS Backup schedule (SPEC: weekly) and retention (SPEC: 30 days).
    backup_schedule: str = Field(default="cron(0 5 ? * SUN *)", pattern=r"^cron\(.+\)$")
    backup_retention_days: int = Field(default=30, ge=1, le=36_500)


class LogsBucketConfig(_Model):
    expire_after_days: int = Field(default=30, ge=1)  # SPEC §4


class RegistryConfig(_Model):
    """ECR repositories for the images CI builds."""

    repositories: list[Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]] = Field(
        default=["api", "worker"], min_length=1
    )
    keep_images: int = Field(default=50, ge=1, le=10_000)
    untagged_expire_days: int = Field(default=7, ge=1)


class DeployRolesConfig(_Model):
    """The roles GitHub Actions assumes through OIDC (components/delivery/deploy_roles.py)."""

    # owner/name of the repository whose workflows may deploy; no roles when unset.
    github_repository: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"
    )
    # An account holds one OIDC provider per issuer: false reuses the existing one.
    create_oidc_provider: bool = True


class OperationsConfig(_Model):
    """Monitoring, alerting, logs and audit (SPEC §6.5, §7, §8)."""

    scrape_interval_seconds: int = Field(default=15, ge=5, le=300)
    retention_days: int = Field(default=15, ge=1, le=365)
    storage_gi: int = Field(default=50, ge=10, le=16_384)
    slack_channel: str = Field(default="#pingvas-alerts", pattern=r"^#[a-z0-9_-]{1,80}$")
    # Who gets the SNS topic's e-mails: CloudWatch alarms, backups, budgets, the daily digest.
    alert_emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")]] = []
    pod_log_retention_days: LogRetentionDays = 30
    audit_log_retention_days: int = Field(default=365, ge=1)
    monthly_budget_usd: float = Field(default=1250, gt=0)  # SPEC §8: $1,249.37


# WAF rules by name, in their default evaluation order (lower runs first).
DEFAULT_WAF_PRIORITIES = {
    "allow-list": 0,
    "rate-limit": 10,
    "geo-block": 20,
    "ip-reputation": 30,
    "anonymous-ip": 40,
    "common": 50,
    "known-bad-inputs": 60,
    "sql-injection": 70,
}
WafRuleName = Literal[
    "allow-list",
    "rate-limit",
    "geo-block",
    "ip-reputation",
    "anonymous-ip",
    "common",
    "known-bad-inputs",
    "sql-injection",
]
# AWS WAF's smallest rate-based rule limit (requests per window per key).
WAF_MINIMUM_RATE_LIMIT = 10


class WafConfig(_Model):
    rate_limit: int = Field(default=2000, le=2_000_000_000)  # per IP (SPEC: 2000 / 5 min)
    rate_limit_window_seconds: Literal[60, 120, 300, 600] = 300
    geo_block_countries: list[str] = []
    anonymous_ip_list: bool = False
    # Never rate limited: health checkers, CI smoke tests.
    allow_list_cidrs: list[IPv4Network] = []
    priorities: dict[WafRuleName, Annotated[int, Field(ge=0)]] = Field(
        default={}, validate_default=True
    )
    # Rules that only count what they match, for a safe roll-out.
    count_only: list[WafRuleName] = []
    log_retention_days: LogRetentionDays = 30

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_is_allowed(cls, limit: int) -> int:
        if limit < WAF_MINIMUM_RATE_LIMIT:
            raise ValueError(f"{limit} is below AWS WAF's minimum of {WAF_MINIMUM_RATE_LIMIT}")
        return limit

    @field_validator("geo_block_countries")
    @classmethod
    def _countries_exist(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if pycountry.countries.get(alpha_2=code) is None or code != code.upper():
                raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
        return codes

    @field_validator("priorities")
    @classmethod
    def _priorities_are_distinct(cls, priorities: dict[str, int]) -> dict[str, int]:
        merged = {**DEFAULT_WAF_PRIORITIES, **priorities}
        if len(set(merged.values())) != len(merged):
            raise ValueError(f"two rules share a priority: {merged}")
        return merged


class EdgeConfig(_Model):
    # API and image hostnames live under it: api.<domain> (prod), api.<env>.<domain>.
    domain: str = Field(pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
    # An existing Route 53 zone for `domain`; otherwise the platform creates one.
    hosted_zone_id: str | None = Field(default=None, pattern=r"^Z[A-Z0-9]{1,32}$")
    waf: WafConfig = WafConfig()


class _StackSettings(_Model):
    """Keys of every stack. Each top-level key's description also goes into Pulumi.yaml
    (tools/generate/config_schema.py)."""

    role: Role | None = Field(
        default=None,
        description="platform or environment; from the name for shared, dev, prod, pr-<N>",
    )
    cost_center: str = Field(
        default="pingvas", min_length=1, max_length=128, description="the cost-center tag"
    )


class PlatformSettings(_StackSettings):
    """The `pingvas:*` keys of a platform stack (`shared`), or of an environment that
    builds its own platform (`platform.create`)."""

    network: NetworkConfig = Field(
        default=NetworkConfig(), description="platform: the VPC, its subnets, NAT and flow logs"
    )
    cluster: ClusterConfig = Field(
        default=ClusterConfig(), description="platform: EKS, its node group and Karpenter pools"
    )
    edge: EdgeConfig = Field(description="platform (required): the domain, DNS zone and WAF")
    aurora: AuroraConfig = Field(
        default=AuroraConfig(), description="platform: the shared Aurora Serverless v2 cluster"
    )
    model_store: ModelStoreConfig = Field(
        default=ModelStoreConfig(), description="platform: EFS for the models and its backups"
    )
    logs_bucket: LogsBucketConfig = Field(
        default=LogsBucketConfig(), description="platform: the central logs bucket"
    )
    registry: RegistryConfig = Field(
        default=RegistryConfig(), description="platform: the ECR repositories CI pushes to"
    )
    operations: OperationsConfig = Field(
        default=OperationsConfig(), description="platform: alert receivers, budget and audit"
    )
    deploy_roles: DeployRolesConfig = Field(
        default=DeployRolesConfig(),
        description="platform: the roles GitHub Actions deploys with (OIDC)",
    )


# Keys that configure a platform; only platform stacks and sandboxes may set them.
PLATFORM_SECTIONS = frozenset(
    field.alias or name
    for name, field in PlatformSettings.model_fields.items()
    if name not in ("role", "cost_center")
)


# --- environment -----------------------------------------------------------------------


class PlatformSource(_Model):
    # `<org>/pingvas/shared` when unset.
    stack: str | None = Field(default=None, pattern=r"^[\w.-]+(/[\w.-]+){0,2}$")
    # Build a private platform inside this stack (a sandbox in another account).
    create: bool = False


class QuotaConfig(_Model):
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


class PriorityClassConfig(_Model):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    # Kubernetes reserves values above one billion for system classes.
    value: int = Field(ge=0, le=1_000_000_000)


class ServicesConfig(_Model):
    replicas: int = Field(ge=1, le=100)
    autoscaling: bool = False


class GpuWorkersConfig(_Model):
    min: int = Field(ge=0)
    max: int = Field(ge=0, le=100)

    @field_validator("max")
    @classmethod
    def _max_not_below_min(cls, maximum: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min")
        if minimum is not None and maximum < minimum:
            raise ValueError(f"must be at least min ({minimum})")
        return maximum


class RedisConfig(_Model):
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
    snapshot_window: str = Field(default="02:00-03:00", pattern=_DAILY_WINDOW)
    maintenance_window: str = Field(default="sun:06:00-sun:07:00", pattern=_WEEKLY_WINDOW)

    @field_validator("replicas")
    @classmethod
    def _replicas_fit_the_mode(cls, replicas: int, info: ValidationInfo) -> int:
        mode = info.data.get("mode")
        if mode is RedisMode.REPLICATED and replicas < 1:
            raise ValueError("replicated mode needs at least one replica for failover")
        if mode is not RedisMode.REPLICATED and replicas > 0:
            raise ValueError(f"{mode} mode has no replicas")
        return replicas


class ImagesBucketConfig(_Model):
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


class CdnConfig(_Model):
    """The image CDN (CloudFront) in front of the images bucket."""

    # The alias (images.<env>.<domain>) and its certificate come from the edge.
    price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = "PriceClass_100"


_IMAGE_TAG = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"  # a Docker tag


class ImageTagsConfig(_Model):
    """The app's image tags in the platform's ECR repositories (CI sets them per build)."""

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


class EnvironmentSettings(_StackSettings):
    """The `pingvas:*` keys of an environment stack (`dev`, `prod`, `pr-<N>`); the
    profile of the stack's kind supplies what the stack file leaves out."""

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


# SPEC §3 figures for dev and prod, but for the replicas and caches docs/cost.md sizes
# (decision records 0100-0102); pr-<N> is a small, cheap dev.
ENVIRONMENT_PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        "quota": {"cpu": 20, "memory": "50Gi", "gpu": 3, "pods": 50},
        "priorityClass": {"name": "dev-low", "value": 100_000},
        "services": {"replicas": 1, "autoscaling": False},
        "gpuWorkers": {"min": 0, "max": 3},
        "redis": {
            "mode": "standalone",
            "engine": "valkey",
            "nodeType": "cache.t4g.small",
            "snapshotRetentionDays": 1,
        },
        "images": {"iaAfterDays": 90},
    },
    "prod": {
        "quota": {"cpu": 50, "memory": "200Gi", "gpu": 15, "pods": 200},
        "priorityClass": {"name": "prod-high", "value": 1_000_000},
        "services": {"replicas": 3, "autoscaling": True},
        "gpuWorkers": {"min": 0, "max": 15},
        "redis": {
            "mode": "replicated",
            "engine": "valkey",
            "nodeType": "cache.t4g.medium",
            "replicas": 1,
            "snapshotRetentionDays": 7,
        },
        "images": {"iaAfterDays": 90, "archiveAfterDays": 180},
    },
    "ephemeral": {
        "quota": {"cpu": 8, "memory": "16Gi", "gpu": 1, "pods": 30},
        "priorityClass": {"name": "ephemeral-low", "value": 10_000},
        "services": {"replicas": 1, "autoscaling": False},
        "gpuWorkers": {"min": 0, "max": 1},
        "redis": {"mode": "in-cluster"},
        "images": {"expireAfterDays": 7, "noncurrentExpireAfterDays": 1, "forceDestroy": True},
        "ttlHours": 72,
    },
}


@dataclass(frozen=True)
class StackConfig:
    """Everything the program knows about the stack it is running."""

    project: str
    stack: str
    role: Role
    region: str
    cost_center: str
    # The platform to build here: always for `shared`, for an environment only with
    # `platform.create`.
    platform: PlatformSettings | None
    environment: EnvironmentSettings | None

    @property
    def is_ephemeral(self) -> bool:
        return EPHEMERAL_STACK.match(self.stack) is not None


def load_stack_config(
    stack: str, raw: Mapping[str, str], secret_keys: Collection[str] = ()
) -> StackConfig:
    """Validates a stack's raw config (Pulumi's `namespace:key` → string map).

    Structured values arrive as JSON strings, as the Pulumi engine passes them;
    `secret_keys` are the keys that arrived encrypted (`secure:`). Every problem found
    is reported at once, one line per key.
    """
    problem = name_problem(stack)
    if problem is not None:
        raise ConfigError(problem)
    region = raw.get("aws:region") or DEFAULT_REGION
    problems = [
        *config_checks.namespace_problems(PROJECT, raw),
        *config_checks.plaintext_secret_problems(
            {key: _decode(value) for key, value in raw.items()}, secret_keys
        ),
        *config_checks.region_problems(region),
    ]
    own = _own_keys(raw)
    role = _role_of(stack, own.get("role"))
    problem = role_problem(stack, role.value)
    if problem is not None:
        problems.append(f"{PROJECT}:role: {problem}")
    platform: PlatformSettings | None
    environment: EnvironmentSettings | None
    if role is Role.PLATFORM:
        platform = _collect(problems, lambda: _platform_settings(region, own))
        environment, cost_center = None, platform.cost_center
    else:
        environment, platform = _environment_settings(stack, region, own, problems)
        cost_center = environment.cost_center
    if problems:
        raise ConfigError("\n".join(problems))
    return StackConfig(
        project=PROJECT,
        stack=stack,
        role=role,
        region=region,
        cost_center=cost_center,
        platform=platform,
        environment=environment,
    )


def _environment_settings(
    stack: str, region: str, own: dict[str, Any], problems: list[str]
) -> tuple[EnvironmentSettings, PlatformSettings | None]:
    """An environment's settings over its profile, and the platform it builds itself
    (a sandbox) if any; problems found join `problems`."""
    platform_keys = {key: own.pop(key) for key in PLATFORM_SECTIONS & own.keys()}
    settings = _collect(
        problems, lambda: _validate(EnvironmentSettings, deep_merge(_profile_for(stack), own))
    )
    problems += config_checks.environment_problems(PROJECT, settings)
    if platform_keys and not settings.platform.create:
        problems += [
            f"{PROJECT}:{key}: only a platform stack, or an environment with "
            f"{PROJECT}:platform.create set to true, builds a platform"
            for key in sorted(platform_keys)
        ]
    if not settings.platform.create:
        return settings, None
    # A sandbox's own environment is the one whose Redis its network guards.
    network = {"redisSecurityGroups": [stack], **platform_keys.get("network", {})}
    sandbox = _collect(
        problems,
        lambda: _platform_settings(
            region, {**platform_keys, "network": network, "costCenter": settings.cost_center}
        ),
    )
    return settings, sandbox


def check_against_platform(config: StackConfig, platform: StackConfig, platform_file: str) -> None:
    """Rejects an environment its platform cannot run, where the platform's config is
    known (the offline preview reads the platform's stack file)."""
    if config.environment is None or platform.platform is None:
        return
    problems = config_checks.platform_problems(
        PROJECT,
        config.stack,
        config.region,
        config.environment,
        platform.region,
        platform.platform,
        platform_file,
    )
    if problems:
        raise ConfigError("\n".join(problems))


def _collect(problems: list[str], validate: Callable[[], _M]) -> _M:
    """The validated model; its errors join the problems found before it."""
    try:
        result = validate()
    except ConfigError as error:
        raise ConfigError("\n".join([*problems, str(error)])) from None
    return result


def _platform_settings(region: str, own: dict[str, Any]) -> PlatformSettings:
    return _validate(PlatformSettings, _with_zones_of(region, {"network": {}, **own}))


def _with_zones_of(region: str, own: dict[str, Any]) -> dict[str, Any]:
    """Defaults the network's zones to the region's first three; rejects foreign zones."""
    network = own.get("network")
    if network is None or not isinstance(network, dict):
        return own
    zones = network.get("availabilityZones")
    if zones is None:
        return {**own, "network": {**network, "availabilityZones": [f"{region}{z}" for z in "abc"]}}
    if isinstance(zones, list):
        for index, zone in enumerate(zones):
            if not (isinstance(zone, str) and zone.startswith(region)):
                raise ConfigError(
                    f"{PROJECT}:network.availabilityZones[{index}]: {zone!r} is not a zone "
                    f"of the stack's region {region!r} (aws:region)"
                )
    return own


# The values Pulumi.yaml's declarations default to, which mean "not set".
UNSET: tuple[Any, ...] = ("", {})


def _own_keys(raw: Mapping[str, str]) -> dict[str, Any]:
    """The project's keys without their namespace, JSON values decoded."""
    own: dict[str, Any] = {}
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT:
            continue
        key = key.removeprefix("config:")  # older engines send `project:config:key`
        decoded = _decode(value)
        # Pulumi.yaml declares every key with an empty default (see
        # tools/generate/config_schema.py): an empty value means the stack does not set the key.
        if decoded not in UNSET:
            own[key] = decoded
    return own


def _decode(value: str) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _role_of(stack: str, declared: Any) -> Role:
    if declared is not None:
        try:
            return Role(declared)
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise ConfigError(
                f"{PROJECT}:role: {declared!r} is not a role (one of: {roles})"
            ) from None
    if stack == "shared":
        return Role.PLATFORM
    if stack in ("dev", "prod") or EPHEMERAL_STACK.match(stack):
        return Role.ENVIRONMENT
    raise ConfigError(
        f"{PROJECT}:role: stack {stack!r} is neither 'shared', 'dev', 'prod' nor 'pr-<N>'; "
        "set its role (platform or environment) explicitly"
    )


def _profile_for(stack: str) -> dict[str, Any]:
    if EPHEMERAL_STACK.match(stack):
        return ENVIRONMENT_PROFILES["ephemeral"]
    return ENVIRONMENT_PROFILES["prod" if stack == "prod" else "dev"]


def _validate(model: type[_M], values: Mapping[str, Any]) -> _M:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        key = _key_path(problem["loc"])
        if problem["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown configuration key")
        else:
            message = problem["msg"].removeprefix("Value error, ")
            given = problem.get("input")
            shown = "" if isinstance(given, dict | list) else f" (got {given!r})"
            lines.append(f"{key}: {message}{shown}")
    return "\n".join(lines)


def _key_path(location: tuple[int | str, ...]) -> str:
    path = f"{PROJECT}:"
    for index, part in enumerate(location):
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += part if index == 0 else f".{part}"
    return path
