"""Typed stack configuration.

Every value the program uses comes through here once, validated before any resource is
registered. A stack's `pingvas:*` keys map onto one pydantic model per role; unknown keys,
bad CIDRs, negative quotas and unsupported modes stop the program with one message that
names the offending key (`ConfigError`), never a traceback.

Defaults are SPEC.md's figures. Environment stacks start from a profile (dev, prod, or
the small ephemeral `pr-<N>` profile) that their own keys override, key by key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Network
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

PROJECT = "pingvas"
DEFAULT_REGION = "us-east-1"
EPHEMERAL_STACK = re.compile(r"^pr-(?P<number>[1-9][0-9]{0,5})$")

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557}
    | {2922, 3288, 3653}
)
# A Kubernetes resource quantity such as `50Gi` or `512Mi`.
K8S_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


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
    retention_days: int = 30
    traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = "ALL"

    @field_validator("retention_days")
    @classmethod
    def _retention_is_allowed(cls, days: int) -> int:
        if days not in LOG_RETENTION_DAYS:
            allowed = ", ".join(str(d) for d in sorted(LOG_RETENTION_DAYS))
            raise ValueError(f"{days} is not a CloudWatch Logs retention period ({allowed})")
        return days


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
    redis_security_groups: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,20}$")]] = [
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


class PlatformSettings(_Model):
    """The `pingvas:*` keys of a platform stack (`shared`)."""

    role: Role | None = None
    cost_center: str = Field(default="pingvas", min_length=1, max_length=128)
    network: NetworkConfig = NetworkConfig()


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


class EnvironmentSettings(_Model):
    """The `pingvas:*` keys of an environment stack (`dev`, `prod`, `pr-<N>`)."""

    role: Role | None = None
    cost_center: str = Field(default="pingvas", min_length=1, max_length=128)
    platform: PlatformSource = PlatformSource()
    quota: QuotaConfig
    priority_class: PriorityClassConfig
    services: ServicesConfig
    gpu_workers: GpuWorkersConfig
    redis: RedisConfig
    # Ephemeral stacks carry a TTL tag that the clean-up job reads.
    ttl_hours: int | None = Field(default=None, ge=1, le=24 * 30)
    # Only read when `platform.create` is true.
    network: NetworkConfig | None = None


# SPEC §3 figures for dev and prod; pr-<N> is a small, cheap dev.
ENVIRONMENT_PROFILES: dict[str, dict[str, Any]] = {
    "dev": {
        "quota": {"cpu": 20, "memory": "50Gi", "gpu": 3, "pods": 50},
        "priorityClass": {"name": "dev-low", "value": 100_000},
        "services": {"replicas": 5, "autoscaling": False},
        "gpuWorkers": {"min": 0, "max": 3},
        "redis": {"mode": "standalone"},
    },
    "prod": {
        "quota": {"cpu": 50, "memory": "200Gi", "gpu": 15, "pods": 200},
        "priorityClass": {"name": "prod-high", "value": 1_000_000},
        "services": {"replicas": 10, "autoscaling": True},
        "gpuWorkers": {"min": 0, "max": 15},
        "redis": {"mode": "replicated"},
    },
    "ephemeral": {
        "quota": {"cpu": 8, "memory": "16Gi", "gpu": 1, "pods": 30},
        "priorityClass": {"name": "ephemeral-low", "value": 10_000},
        "services": {"replicas": 1, "autoscaling": False},
        "gpuWorkers": {"min": 0, "max": 1},
        "redis": {"mode": "in-cluster"},
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
    network: NetworkConfig | None
    environment: EnvironmentSettings | None

    @property
    def is_ephemeral(self) -> bool:
        return EPHEMERAL_STACK.match(self.stack) is not None


def load_stack_config(stack: str, raw: Mapping[str, str]) -> StackConfig:
    """Validates a stack's raw config (Pulumi's `namespace:key` → string map).

    Structured values arrive as JSON strings, as the Pulumi engine passes them.
    """
    own = _own_keys(raw)
    role = _role_of(stack, own.get("role"))
    region = raw.get("aws:region") or DEFAULT_REGION
    if role is Role.PLATFORM:
        platform = _validate(PlatformSettings, _with_zones_of(region, {"network": {}, **own}))
        return StackConfig(
            project=PROJECT,
            stack=stack,
            role=role,
            region=region,
            cost_center=platform.cost_center,
            network=platform.network,
            environment=None,
        )

    own = _with_zones_of(region, own)
    settings = _validate(EnvironmentSettings, _deep_merge(_profile_for(stack), own))
    if settings.network is not None and not settings.platform.create:
        raise ConfigError(
            f"{PROJECT}:network: only a platform stack, or an environment with "
            f"{PROJECT}:platform.create set to true, builds a network"
        )
    network = None
    if settings.platform.create:
        network = settings.network or _validate(
            NetworkConfig, _with_zones_of(region, {"network": {}})["network"]
        )
    return StackConfig(
        project=PROJECT,
        stack=stack,
        role=role,
        region=region,
        cost_center=settings.cost_center,
        network=network,
        environment=settings,
    )


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


def _own_keys(raw: Mapping[str, str]) -> dict[str, Any]:
    """The project's keys without their namespace, JSON values decoded."""
    own: dict[str, Any] = {}
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT:
            continue
        key = key.removeprefix("config:")  # older engines send `project:config:key`
        own[key] = _decode(value)
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


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


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
