"""Stack configuration: SPEC defaults, roles, and clear errors naming the key."""

from __future__ import annotations

import json
from ipaddress import IPv4Network

import pytest

from infra.config import ConfigError, NatMode, RedisMode, Role, load_stack_config


def raw(**values: object) -> dict[str, str]:
    """Config as the engine passes it: `pingvas:key` → JSON string for structured values."""
    return {
        f"pingvas:{key}": value if isinstance(value, str) else json.dumps(value)
        for key, value in values.items()
    }


# What a platform stack must say: its domain.
PLATFORM = raw(edge={"domain": "pingvas.example.com"})


def test_shared_is_the_platform_with_spec_network() -> None:
    config = load_stack_config("shared", PLATFORM)
    assert config.role is Role.PLATFORM
    assert config.region == "us-east-1"
    assert config.platform is not None
    network = config.platform.network
    assert network.cidr == IPv4Network("10.0.0.0/16")
    assert network.availability_zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert [str(c) for c in network.public_subnet_cidrs] == [
        "10.0.1.0/24",
        "10.0.2.0/24",
        "10.0.3.0/24",
    ]
    assert [str(c) for c in network.private_subnet_cidrs] == [
        "10.0.11.0/24",
        "10.0.12.0/24",
        "10.0.13.0/24",
    ]
    assert network.nat_mode is NatMode.SINGLE
    assert network.flow_logs.retention_days == 30


@pytest.mark.parametrize(
    ("stack", "cpu", "memory", "gpu", "pods", "priority", "replicas", "workers", "redis"),
    [
        ("dev", 20, "50Gi", 3, 50, ("dev-low", 100_000), 1, 3, RedisMode.SERVERLESS),
        ("prod", 50, "200Gi", 15, 200, ("prod-high", 1_000_000), 3, 15, RedisMode.SERVERLESS),
    ],
)
def test_environment_defaults_are_spec_figures(
    stack: str,
    cpu: int,
    memory: str,
    gpu: int,
    pods: int,
    priority: tuple[str, int],
    replicas: int,
    workers: int,
    redis: RedisMode,
) -> None:
    config = load_stack_config(stack, {})
    env = config.environment
    assert config.role is Role.ENVIRONMENT
    assert env is not None
    assert (env.quota.cpu, env.quota.memory, env.quota.gpu, env.quota.pods) == (
        cpu,
        memory,
        gpu,
        pods,
    )
    assert (env.priority_class.name, env.priority_class.value) == priority
    assert env.services.replicas == replicas
    assert (env.gpu_workers.min, env.gpu_workers.max) == (0, workers)
    assert env.redis.mode is redis
    assert env.ttl_hours is None
    assert config.platform is None  # environments build no platform of their own


def test_ephemeral_stack_needs_no_config_and_is_small() -> None:
    config = load_stack_config("pr-7", {})
    env = config.environment
    assert config.role is Role.ENVIRONMENT
    assert config.is_ephemeral
    assert env is not None
    dev = load_stack_config("dev", {}).environment
    assert dev is not None
    assert env.quota.cpu < dev.quota.cpu
    assert env.quota.gpu == 1
    assert env.services.replicas == 1
    assert env.gpu_workers.max == 1
    assert env.redis.mode is RedisMode.IN_CLUSTER
    assert env.priority_class.value < dev.priority_class.value
    assert env.ttl_hours == 72


def test_overrides_merge_key_by_key_over_the_profile() -> None:
    env = load_stack_config("dev", raw(quota={"gpu": 5})).environment
    assert env is not None
    assert env.quota.gpu == 5
    assert env.quota.cpu == 20  # untouched keys keep the profile's value
    assert env.quota.memory == "50Gi"


def test_explicit_role_allows_other_stack_names() -> None:
    staging = load_stack_config("staging", raw(role="environment", profile="dev"))
    assert staging.role is Role.ENVIRONMENT
    platform = load_stack_config("eu-platform", {**PLATFORM, **raw(role="platform")})
    assert platform.role is Role.PLATFORM


def test_sandbox_environment_may_build_its_own_platform() -> None:
    config = load_stack_config(
        "sandbox",
        raw(
            profile="dev",
            platform={"create": True},
            network={"natMode": "none"},
            edge={"domain": "sandbox.example.com"},
        ),
    )
    assert config.platform is not None
    assert config.platform.network.nat_mode is NatMode.NONE
    assert config.platform.cost_center == "pingvas"


@pytest.mark.parametrize(
    ("stack", "values", "message"),
    [
        (
            "shared",
            raw(network={"cidr": "10.0.0.0/33"}),
            "pingvas:network.cidr: '10.0.0.0/33' is not a valid IPv4 network",
        ),
        (
            "shared",
            raw(network={"publicSubnetCidrs": ["10.1.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]}),
            "pingvas:network.publicSubnetCidrs[0]: 10.1.1.0/24 is not inside the VPC 10.0.0.0/16",
        ),
        (
            "shared",
            raw(network={"privateSubnetCidrs": ["10.0.1.0/24", "10.0.12.0/24", "10.0.13.0/24"]}),
            "pingvas:network.privateSubnetCidrs[0]: 10.0.1.0/24 overlaps 10.0.1.0/24 "
            "(publicSubnetCidrs[0])",
        ),
        (
            "shared",
            raw(network={"privateSubnetCidrs": ["10.0.11.0/24"]}),
            "pingvas:network.privateSubnetCidrs: lists 1 subnets for 3 availability zones",
        ),
        (
            "shared",
            raw(network={"natMode": "dual"}),
            "pingvas:network.natMode: should be 'single', 'per_az' or 'none'",
        ),
        (
            "shared",
            raw(network={"flowLogs": {"retentionDays": 31}}),
            "pingvas:network.flowLogs.retentionDays: 31 is not a CloudWatch Logs retention",
        ),
        ("shared", raw(colour="blue"), "pingvas:colour: unknown configuration key"),
        ("eu-platform", raw(role="platform"), "pingvas:edge: is required"),
        (
            "shared",
            raw(edge={"domain": "Not A Domain"}),
            "pingvas:edge.domain: 'Not A Domain' is not a lower-case domain name",
        ),
        (
            "shared",
            raw(edge={"domain": "x.example.com", "waf": {"rateLimit": 5}}),
            "pingvas:edge.waf.rateLimit: 5 is below AWS WAF's minimum of 10",
        ),
        (
            "shared",
            raw(edge={"domain": "x.example.com", "waf": {"geoBlockCountries": ["RU", "XX"]}}),
            "pingvas:edge.waf.geoBlockCountries: 'XX' is not an ISO 3166-1 alpha-2 country code",
        ),
        (
            "shared",
            raw(edge={"domain": "x.example.com", "waf": {"countOnly": ["commons"]}}),
            "pingvas:edge.waf.countOnly[0]: should be 'allow-list'",
        ),
        (
            "shared",
            raw(edge={"domain": "x.example.com", "waf": {"priorities": {"common": 10}}}),
            "pingvas:edge.waf.priorities: two rules share a priority",
        ),
        ("shared", raw(network={"vpcCidr": "10.0.0.0/16"}), "pingvas:network.vpcCidr: unknown"),
        ("dev", raw(quota={"gpu": -1}), "pingvas:quota.gpu: should be greater than or"),
        ("prod", raw(quota={"memory": "lots"}), "pingvas:quota.memory: 'lots' is not a Kuber"),
        ("dev", raw(gpuWorkers={"min": 4}), "pingvas:gpuWorkers.max: 3 is below min (4)"),
        ("dev", raw(redis={"mode": "sentinel"}), "pingvas:redis.mode: should be"),
        ("dev", raw(network={"natMode": "none"}), "pingvas:network: only a platform stack"),
        ("prod", raw(cluster={"version": "1.35"}), "pingvas:cluster: only a platform stack"),
        (
            "shared",
            raw(cluster={"version": "1.3"}),
            "pingvas:cluster.version: '1.3' is not a Kubernetes minor version",
        ),
        (
            "shared",
            raw(cluster={"adminRoleArns": ["arn:aws:iam::12:user/x"]}),
            "pingvas:cluster.adminRoleArns[0]: 'arn:aws:iam::12:user/x' is not an IAM role ARN",
        ),
        (
            "shared",
            raw(cluster={"systemNodes": {"desired": 5}}),
            "pingvas:cluster.systemNodes.max: needs min (2) <= desired (5) <= max",
        ),
        (
            "shared",
            raw(cluster={"gpuNodePool": {"gpuLimit": -1}}),
            "pingvas:cluster.gpuNodePool.gpuLimit: should be greater than or equal to 0",
        ),
        (
            "shared",
            raw(cluster={"publicAccessCidrs": ["1.2.3.4/40"]}),
            "pingvas:cluster.publicAccessCidrs[0]: '1.2.3.4/40' is not a valid IPv4 network",
        ),
        ("staging", {}, "pingvas:role: stack 'staging' is neither"),
        ("staging", raw(role="environment"), "pingvas:profile: environment 'staging' has no"),
        ("staging", raw(profile="ephemeral"), "pingvas:profile: 'ephemeral' belongs to pr-<N>"),
        ("pr-7", raw(profile="prod"), "pingvas:profile: pr-7 is a pr-<N> stack, always"),
        ("staging", raw(profile="big"), "pingvas:profile: 'big' is not a profile"),
        ("dev", raw(role="cluster"), "pingvas:role: 'cluster' is not a role"),
    ],
)
def test_invalid_config_names_the_key(stack: str, values: dict[str, str], message: str) -> None:
    platform = PLATFORM if stack == "shared" and "pingvas:edge" not in values else {}
    with pytest.raises(ConfigError) as raised:
        load_stack_config(stack, {**platform, **values})
    assert message in str(raised.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        load_stack_config("prod", raw(quota={"cpu": -1, "pods": -5}, typo=1))
    lines = str(raised.value).splitlines()
    assert [line.split(":", 2)[1] for line in lines] == ["quota.cpu", "quota.pods", "typo"]


def test_region_is_read_and_engine_options_are_allowed() -> None:
    config = load_stack_config(
        "shared",
        {"aws:region": "eu-west-1", "pulumi:disable-default-providers": '["aws"]', **PLATFORM},
    )
    assert config.region == "eu-west-1"


def test_zones_follow_the_region() -> None:
    platform = load_stack_config("shared", {"aws:region": "eu-west-1", **PLATFORM}).platform
    assert platform is not None
    assert platform.network.availability_zones == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    with pytest.raises(
        ConfigError,
        match=r"availabilityZones\[1\]: 'us-east-1b' is not an availability zone of eu-west-1",
    ):
        load_stack_config(
            "shared",
            {
                "aws:region": "eu-west-1",
                **raw(network={"availabilityZones": ["eu-west-1a", "us-east-1b", "eu-west-1c"]}),
            },
        )
