"""Typed stack configuration.

Every value the program uses comes through here once, validated before any resource is
registered. A stack's `pingvas:*` keys map onto one pydantic model per role; unknown keys,
bad CIDRs, negative quotas and unsupported modes stop the program with one message that
names the offending key (`ConfigError`), never a traceback.

Defaults are SPEC's figures (docs/architecture.md). An environment stack starts from its
profile (dev, prod, or the small ephemeral `pr-<N>` profile), decided once in
`profiles.py`, and its own keys override the profile key by key.

- `base.py`: the project's constants, `ConfigError`, the models' base;
- `profiles.py`: `Profile`, the stack's kind, the sizes of each profile;
- `platform.py`, `environment.py`: the keys of each role;
- `loading.py`: `load_stack_config` and `StackConfig`.
"""

from infra.config.base import DEFAULT_REGION, PROJECT, ConfigError, Role
from infra.config.environment import SUPPLIED_SECRETS, EnvironmentSettings, RedisMode
from infra.config.loading import UNSET, StackConfig, check_against_platform, load_stack_config
from infra.config.platform import NatMode, OperationsConfig, PlatformSettings
from infra.config.profiles import (
    APEX_HOST_OWNER,
    ENVIRONMENT_PROFILES,
    PLATFORM_STACK,
    Profile,
    StackKind,
    owns_apex_hosts,
    profile_by_name,
    protected_by_name,
)

__all__ = [
    "APEX_HOST_OWNER",
    "DEFAULT_REGION",
    "ENVIRONMENT_PROFILES",
    "PLATFORM_STACK",
    "PROJECT",
    "SUPPLIED_SECRETS",
    "UNSET",
    "ConfigError",
    "EnvironmentSettings",
    "NatMode",
    "OperationsConfig",
    "PlatformSettings",
    "Profile",
    "RedisMode",
    "Role",
    "StackConfig",
    "StackKind",
    "check_against_platform",
    "load_stack_config",
    "owns_apex_hosts",
    "profile_by_name",
    "protected_by_name",
]
