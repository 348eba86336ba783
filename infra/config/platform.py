"""The keys of a platform stack (`shared`), or of an environment that builds its own
platform (`platform.create`): network, cluster, data, edge, operations, deploy roles, and
the long-lived environments the platform serves."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from ipaddress import IPv4Network
from typing import Annotated, Literal

import pycountry
from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from infra.aws_catalog import check_eks_version, check_gpu_node_type, check_system_node_type
from infra.aws_limits import check_block_size
from infra.config.base import (
    DAILY_WINDOW,
    WEEKLY_WINDOW,
    ConfigModel,
    LogRetentionDays,
    StackSettings,
    one_of,
)
from infra.config.messages import KeyProblem, described
from infra.config.platform_checks import (
    check_aurora,
    check_subnets,
    checked_backup_schedule,
    domain_fits_aws,
    narrow_public_range,
)
from infra.config.profiles import DEFAULT_ENVIRONMENTS, PLATFORM_STACK, Profile
from infra.stack_names import DNS_LABEL, MAX_STACK_NAME_LENGTH

# A long-lived environment's stack name, as the platform lists it.
EnvironmentName = Annotated[
    str,
    Field(
        pattern=described(DNS_LABEL.pattern, "a stack name (lower-case letters, digits and '-')"),
        max_length=MAX_STACK_NAME_LENGTH,
    ),
]


class NatMode(StrEnum):
    SINGLE = "single"  # one NAT gateway in the first AZ (SPEC: saves ~$65/month over HA)
    PER_AZ = "per_az"  # one per AZ: survives an AZ outage
    NONE = "none"  # private subnets have no internet route at all


# --- platform --------------------------------------------------------------------------


class FlowLogsConfig(ConfigModel):
    enabled: bool = True
    retention_days: LogRetentionDays = 30
    traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = "ALL"


VpcBlock = Annotated[IPv4Network, AfterValidator(check_block_size)]


class NetworkConfig(ConfigModel):
    cidr: VpcBlock = IPv4Network("10.0.0.0/16")
    availability_zones: list[str] = Field(
        default=["us-east-1a", "us-east-1b", "us-east-1c"], min_length=2, max_length=6
    )
    public_subnet_cidrs: list[VpcBlock] = [
        IPv4Network("10.0.1.0/24"),
        IPv4Network("10.0.2.0/24"),
        IPv4Network("10.0.3.0/24"),
    ]
    private_subnet_cidrs: list[VpcBlock] = [
        IPv4Network("10.0.11.0/24"),
        IPv4Network("10.0.12.0/24"),
        IPv4Network("10.0.13.0/24"),
    ]
    nat_mode: NatMode = NatMode.SINGLE
    flow_logs: FlowLogsConfig = FlowLogsConfig()

    @field_validator("availability_zones")
    @classmethod
    def _zones_are_distinct(cls, zones: list[str]) -> list[str]:
        if len(set(zones)) != len(zones):
            raise ValueError("availability zones must be distinct")
        return zones

    @model_validator(mode="after")
    def _subnets_fit_the_vpc(self) -> NetworkConfig:
        # A model-level check, so that the defaults are checked too: four zones with the
        # default three subnets, or a public subnet over a default private one.
        check_subnets(
            self.cidr,
            len(self.availability_zones),
            {
                "publicSubnetCidrs": self.public_subnet_cidrs,
                "privateSubnetCidrs": self.private_subnet_cidrs,
            },
        )
        return self


_ROLE_ARN = described(
    r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$",
    "an IAM role ARN such as arn:aws:iam::123456789012:role/admin",
)
SystemNodeType = Annotated[str, AfterValidator(check_system_node_type)]
GpuNodeType = Annotated[str, AfterValidator(check_gpu_node_type)]


class SystemNodesConfig(ConfigModel):
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


_DURATION = described(r"^([0-9]+(s|m|h))+$|^Never$", "a duration such as 720h, or Never")


class GpuNodePoolConfig(ConfigModel):
    """Karpenter's GPU NodePool (SPEC §3: 0-10 Spot nodes of T4 and A10G)."""

    instance_types: list[GpuNodeType] = Field(
        default=["g4dn.xlarge", "g4dn.2xlarge", "g5.xlarge"], min_length=1
    )
    # GPUs the pool may run at once: room for every long-lived environment's workers
    # (dev 3 + prod 15, SPEC §11; docs/decisions/0011-gpu-capacity.md).
    gpu_limit: int = Field(default=18, ge=0, le=1000)
    # Spot first; on-demand when no Spot capacity is offered.
    on_demand_fallback: bool = True
    expire_after: str = Field(default="720h", pattern=_DURATION)
    # The OS only: images and scratch live on the instance store's NVMe, the models on
    # EFS (docs/decisions/0104-gpu-images-on-instance-store.md). 20 GiB: AL2023's image.
    root_volume_gi: int = Field(default=20, ge=20, le=16_384)


class PreviewNodePoolsConfig(ConfigModel):
    """The previews' own tainted pools (pr-<N> never shares a node with dev or prod)."""

    cpu_limit: int = Field(default=16, ge=0)
    gpu_limit: int = Field(default=2, ge=0, le=1000)


class GeneralNodePoolConfig(ConfigModel):
    """Karpenter's Spot CPU NodePool for the API services."""

    instance_categories: list[Literal["c", "m", "r", "t"]] = ["c", "m", "r"]
    # Graviton alongside x86 (decision 0116): the API image is built for both, and every
    # DaemonSet on these nodes is published for both (components/cluster/arm64.py).
    # Karpenter launches whichever is cheaper; the previews' pool follows.
    architectures: list[Literal["amd64", "arm64"]] = Field(default=["amd64", "arm64"], min_length=1)
    cpu_limit: int = Field(default=64, ge=0)
    expire_after: str = Field(default="720h", pattern=_DURATION)


class ClusterConfig(ConfigModel):
    # EKS standard support: SPEC's 1.28 is long out of it.
    version: Annotated[
        str,
        Field(pattern=described(r"^1\.[0-9]{2}$", "a Kubernetes minor version such as 1.35")),
        AfterValidator(lambda version: check_eks_version(version, date.today())),
    ] = "1.35"
    # The public API endpoint is open only to these (e.g. CI and VPN egress); empty
    # leaves the endpoint private, reachable from inside the VPC.
    public_access_cidrs: list[Annotated[IPv4Network, AfterValidator(narrow_public_range)]] = []
    # IAM roles granted cluster admin through EKS access entries.
    admin_role_arns: list[Annotated[str, Field(pattern=_ROLE_ARN)]] = []
    log_retention_days: LogRetentionDays = 30
    # Karpenter's AMI: pin a release (e.g. `al2023@v20261101`) to roll nodes on purpose.
    ami_alias: str = Field(
        default="al2023@latest",
        pattern=described(
            r"^(al2023|bottlerocket)@(latest|v[0-9.]+)$",
            "an AMI alias such as al2023@latest or al2023@v20261101",
        ),
    )
    system_nodes: SystemNodesConfig = SystemNodesConfig()
    gpu_node_pool: GpuNodePoolConfig = GpuNodePoolConfig()
    general_node_pool: GeneralNodePoolConfig = GeneralNodePoolConfig()
    preview_node_pools: PreviewNodePoolsConfig = PreviewNodePoolsConfig()


# --- data layer (platform) -------------------------------------------------------------

# EFS moves idle files to Infrequent Access only after one of these periods (days).
EFS_IA_DAYS = frozenset({1, 7, 14, 30, 60, 90, 180, 270, 365})
EfsLifecycleDays = Annotated[int, one_of(EFS_IA_DAYS, "an EFS lifecycle period")]


class AuroraConfig(ConfigModel):
    """The shared Aurora Serverless v2 PostgreSQL cluster (SPEC §4, §9)."""

    engine_version: str = Field(
        default="16.8",
        pattern=described(r"^1[3-9]\.[0-9]+$", "an Aurora PostgreSQL version such as 16.8"),
    )
    # Aurora capacity units per instance (SPEC: 0.5-4). A minimum of 0 lets a sandbox
    # pause when idle.
    min_capacity: float = Field(default=0.5, ge=0, le=256, multiple_of=0.5)
    max_capacity: float = Field(default=4, ge=1, le=256, multiple_of=0.5)
    seconds_until_auto_pause: int | None = Field(default=None, ge=300, le=86_400)
    # Readers besides the writer, each in another zone (SPEC: one, in us-east-1b).
    readers: int = Field(default=1, ge=0, le=15)
    # Readers' failover order. Tiers 0-1 hold at least the writer's capacity; from tier 2 a
    # reader scales on its own load, and is still promoted when the writer fails (0113).
    reader_promotion_tier: int = Field(default=2, ge=1, le=15)
    backup_retention_days: int = Field(default=7, ge=1, le=35)
    backup_window: str = Field(default="03:00-04:00", pattern=DAILY_WINDOW)
    maintenance_window: str = Field(default="sun:04:30-sun:05:30", pattern=WEEKLY_WINDOW)
    deletion_protection: bool = True
    final_snapshot: bool = True
    log_retention_days: LogRetentionDays = 30

    @model_validator(mode="after")
    def _fits_aurora(self) -> AuroraConfig:
        check_aurora(
            min_capacity=self.min_capacity,
            max_capacity=self.max_capacity,
            seconds_until_auto_pause=self.seconds_until_auto_pause,
            engine_version=self.engine_version,
            backup_window=self.backup_window,
            maintenance_window=self.maintenance_window,
        )
        return self


class ModelStoreConfig(ConfigModel):
    """EFS for the AI models (SPEC §4, §9); the models bucket sits beside it."""

    ia_after_days: EfsLifecycleDays = 30
    # AWS Backup schedule (SPEC: weekly) and retention (SPEC: 30 days).
    backup_schedule: Annotated[str, AfterValidator(checked_backup_schedule)] = "cron(0 5 ? * SUN *)"
    backup_retention_days: int = Field(default=30, ge=1, le=36_500)


class LogsBucketConfig(ConfigModel):
    expire_after_days: int = Field(default=30, ge=1)  # SPEC §4


class RegistryConfig(ConfigModel):
    """ECR repositories for the images CI builds."""

    repositories: list[
        Annotated[
            str,
            Field(
                pattern=described(
                    r"^[a-z0-9]+(-[a-z0-9]+)*$", "a repository name such as api (lower-case, '-')"
                )
            ),
        ]
    ] = Field(default=["api", "worker"], min_length=1)
    keep_images: int = Field(default=50, ge=1, le=10_000)
    untagged_expire_days: int = Field(default=7, ge=1)


class DeployRolesConfig(ConfigModel):
    """The roles GitHub Actions assumes through OIDC (components/delivery/deploy_roles.py)."""

    # owner/name of the repository whose workflows may deploy; no roles when unset.
    github_repository: str | None = Field(
        default=None,
        pattern=described(
            r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", "owner/name of a GitHub repository"
        ),
    )
    # An account holds one OIDC provider per issuer: false reuses the existing one.
    create_oidc_provider: bool = True

    @model_validator(mode="after")
    def _provider_needs_roles(self) -> DeployRolesConfig:
        if "create_oidc_provider" in self.model_fields_set and self.github_repository is None:
            raise KeyProblem(
                "createOidcProvider",
                "without githubRepository there are no deploy roles and no provider: "
                "set githubRepository, or remove createOidcProvider",
            )
        return self


class OperationsConfig(ConfigModel):
    """Monitoring, alerting, logs and audit (SPEC §6.5, §7, §8)."""

    scrape_interval_seconds: int = Field(default=15, ge=5, le=300)
    retention_days: int = Field(default=15, ge=1, le=365)
    storage_gi: int = Field(default=50, ge=10, le=16_384)
    slack_channel: str = Field(
        default="#pingvas-alerts",
        pattern=described(r"^#[a-z0-9_-]{1,80}$", "a Slack channel such as #alerts"),
    )
    # Who gets the SNS topic's e-mails: CloudWatch alarms, backups, budgets, the daily digest.
    alert_emails: list[
        Annotated[
            str, Field(pattern=described(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", "an e-mail address"))
        ]
    ] = []
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


class WafConfig(ConfigModel):
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


class EdgeConfig(ConfigModel):
    # API and image hostnames live under it: api.<domain> (prod), api.<env>.<domain>.
    domain: Annotated[str, AfterValidator(domain_fits_aws)] = Field(
        pattern=described(
            r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
            "a lower-case domain name such as example.com",
        )
    )
    # An existing Route 53 zone for `domain`; otherwise the platform creates one.
    hosted_zone_id: str | None = Field(
        default=None,
        pattern=described(r"^Z[A-Z0-9]{1,32}$", "a Route 53 hosted zone id such as Z0123456789ABC"),
    )
    waf: WafConfig = WafConfig()


class PlatformSettings(StackSettings):
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
    # Each gets a schema owner in Aurora (its migrations run as it), a deployer on the
    # cluster and a Redis security group; pr-<N> stacks need no entry.
    environments: dict[EnvironmentName, Profile] = Field(
        default=DEFAULT_ENVIRONMENTS,
        description="platform: its long-lived environments, name to profile (dev or prod)",
    )

    @field_validator("environments")
    @classmethod
    def _environments_are_long_lived(cls, environments: dict[str, Profile]) -> dict[str, Profile]:
        if PLATFORM_STACK in environments:
            raise ValueError(f"{PLATFORM_STACK!r} is the platform, not an environment")
        for name, profile in environments.items():
            if profile is Profile.EPHEMERAL:
                raise ValueError(
                    f"{name}: pr-<N> stacks are ephemeral and need no entry; "
                    "a long-lived environment is dev or prod"
                )
        return environments


# Keys that configure a platform; only platform stacks and sandboxes may set them.
PLATFORM_SECTIONS = frozenset(
    field.alias or name
    for name, field in PlatformSettings.model_fields.items()
    if name not in ("role", "cost_center")
)
