"""What kind of stack this is: decided once, here, from the stack's name and its declared
`pingvas:role` and `pingvas:profile` keys.

Everything that used to compare stack names derives from the answer: an environment's
sizes and chart values (its `Profile`), `protect` and deletion protection (prod-profile
environments and the platform), the apex hostnames (the one stack that owns them), the
platform's Redis security groups, schema owners and deployers (its long-lived
environments, each with a profile).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from infra.config.base import PROJECT, ConfigError, Role
from infra.stack_names import EPHEMERAL_STACK

# The platform's conventional stack: the one environments reference by default.
PLATFORM_STACK = "shared"
# The stack whose hostnames sit directly under the domain (`api.<domain>`); every other
# environment, a prod-profile `staging` too, answers on `api.<stack>.<domain>`, so two
# prod-profile stacks never claim the same hostnames. The platform's admission policy
# lets only this namespace use them (components/cluster/admission.py).
APEX_HOST_OWNER = "prod"


class Profile(StrEnum):
    """The kind of environment: which sizes, chart values and protection it gets."""

    DEV = "dev"
    PROD = "prod"
    EPHEMERAL = "ephemeral"  # pr-<N>: small, in-cluster Redis, a TTL, destroyed with its PR


# Long-lived environment names whose profile goes without saying.
CONVENTIONAL_PROFILES = {"dev": Profile.DEV, "prod": Profile.PROD}
# The long-lived environments a platform serves unless `pingvas:environments` says
# otherwise (name → profile).
DEFAULT_ENVIRONMENTS: dict[str, Profile] = dict(CONVENTIONAL_PROFILES)

# SPEC §3 figures for dev and prod, but for the replicas and caches docs/cost.md sizes
# (decision records 0100-0102; ElastiCache Serverless Valkey, which keeps the data in three
# zones with no node to fail over, 0117); pr-<N> is a small, cheap dev.
ENVIRONMENT_PROFILES: dict[Profile, dict[str, Any]] = {
    Profile.DEV: {
        "quota": {"cpu": 20, "memory": "50Gi", "gpu": 3, "pods": 50},
        "priorityClass": {"name": "dev-low", "value": 100_000},
        "services": {"replicas": 1, "autoscaling": False},
        "gpuWorkers": {"min": 0, "max": 3},
        "redis": {"mode": "serverless", "engine": "valkey", "snapshotRetentionDays": 1},
        "images": {"iaAfterDays": 90},
    },
    Profile.PROD: {
        "quota": {"cpu": 50, "memory": "200Gi", "gpu": 15, "pods": 200},
        "priorityClass": {"name": "prod-high", "value": 1_000_000},
        "services": {"replicas": 3, "autoscaling": True},
        "gpuWorkers": {"min": 0, "max": 15},
        "redis": {"mode": "serverless", "engine": "valkey", "snapshotRetentionDays": 7},
        "images": {"iaAfterDays": 90, "archiveAfterDays": 180},
    },
    Profile.EPHEMERAL: {
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
class StackKind:
    """A stack's role and, for an environment, its profile."""

    role: Role
    profile: Profile | None  # None for the platform: it has no environment profile
    apex_hosts: bool  # its hostnames are `<service>.<domain>`, not `<service>.<stack>.<domain>`

    @property
    def protected(self) -> bool:
        """Whether its stateful resources carry `protect` and deletion protection: the
        platform's and a prod-profile environment's data outlive a mistaken destroy."""
        return self.role is Role.PLATFORM or self.profile is Profile.PROD

    @property
    def is_ephemeral(self) -> bool:
        return self.profile is Profile.EPHEMERAL


def stack_kind(stack: str, declared_role: Any, declared_profile: Any) -> StackKind:
    """The stack's role and profile: `shared` is the platform, `pr-<N>` always ephemeral,
    `dev` and `prod` their namesakes; any other environment declares `pingvas:profile`
    (dev or prod), and a declared profile makes it an environment."""
    role = _role_of(stack, declared_role, declared_profile)
    conventional = _conventional_role(stack)
    if conventional is not None and conventional is not role:
        raise ConfigError(
            f"{PROJECT}:role: stack {stack!r} is always the {conventional} role, not {role.value!r}"
        )
    if role is Role.PLATFORM:
        if declared_profile is not None:
            raise ConfigError(
                f"{PROJECT}:profile: a platform stack has no environment profile; "
                "only environments set it"
            )
        return StackKind(role, None, apex_hosts=False)
    return StackKind(role, _profile_of(stack, declared_profile), apex_hosts=owns_apex_hosts(stack))


def profile_by_name(stack: str) -> Profile | None:
    """The profile the name alone decides (dev, prod, pr-<N>), for tools that see a stack
    only by its name (cost reports, the review-stack reaper); None where only the stack's
    config knows."""
    if EPHEMERAL_STACK.match(stack):
        return Profile.EPHEMERAL
    return CONVENTIONAL_PROFILES.get(stack)


def protected_by_name(stack: str) -> bool:
    """Whether a stack's stateful resources carry `protect`, for the policy pack, which
    knows a stack only by its name (the program decides from `StackKind.protected`)."""
    return stack == PLATFORM_STACK or profile_by_name(stack) is Profile.PROD


def owns_apex_hosts(stack: str) -> bool:
    """Whether the stack's hosts sit directly under the domain (`<service>.<domain>`)."""
    return stack == APEX_HOST_OWNER


def _conventional_role(stack: str) -> Role | None:
    if stack == PLATFORM_STACK:
        return Role.PLATFORM
    return None if profile_by_name(stack) is None else Role.ENVIRONMENT


def _role_of(stack: str, declared: Any, declared_profile: Any) -> Role:
    if declared is not None:
        try:
            return Role(declared)
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise ConfigError(
                f"{PROJECT}:role: {declared!r} is not a role (one of: {roles})"
            ) from None
    conventional = _conventional_role(stack)
    if conventional is not None:
        return conventional
    if declared_profile is not None:
        return Role.ENVIRONMENT
    raise ConfigError(
        f"{PROJECT}:role: stack {stack!r} is neither 'shared', 'dev', 'prod' nor 'pr-<N>'; "
        f"set {PROJECT}:profile (dev or prod) for an environment, or {PROJECT}:role: platform"
    )


def _profile_of(stack: str, declared: Any) -> Profile:
    by_name = profile_by_name(stack)
    if by_name is Profile.EPHEMERAL:
        if declared is not None and declared != Profile.EPHEMERAL.value:
            raise ConfigError(
                f"{PROJECT}:profile: {stack} is a pr-<N> stack, always ephemeral (got {declared!r})"
            )
        return Profile.EPHEMERAL
    if declared is None:
        if by_name is not None:
            return by_name
        raise ConfigError(
            f"{PROJECT}:profile: environment {stack!r} has no profile: set {PROJECT}:profile "
            "to dev or prod (its sizes, chart values and protection follow it)"
        )
    try:
        profile = Profile(declared)
    except ValueError:
        profiles = ", ".join(p.value for p in Profile)
        raise ConfigError(
            f"{PROJECT}:profile: {declared!r} is not a profile (one of: {profiles})"
        ) from None
    if profile is Profile.EPHEMERAL:
        raise ConfigError(
            f"{PROJECT}:profile: 'ephemeral' belongs to pr-<N> stacks; a long-lived "
            "environment is dev or prod"
        )
    return profile
