"""Loading a stack's config: its raw `namespace:key` strings decoded, its kind decided,
its keys validated over its profile, every problem reported at once."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from infra import config_checks
from infra.aws_limits import check_tag_value, zone_problem
from infra.config.base import DEFAULT_REGION, PROJECT, ConfigError, ModelT, Role
from infra.config.environment import EnvironmentSettings, profile_for_redis
from infra.config.messages import describe
from infra.config.platform import PLATFORM_SECTIONS, PlatformSettings
from infra.config.profiles import ENVIRONMENT_PROFILES, Profile, StackKind, stack_kind
from infra.merge import deep_merge  # one merge: profiles layer like Helm values
from infra.stack_names import name_problem, role_problem


@dataclass(frozen=True)
class StackConfig:
    """Everything the program knows about the stack it is running."""

    project: str
    stack: str
    kind: StackKind  # its role and profile, decided once (infra/config/profiles.py)
    region: str
    cost_center: str
    # The platform to build here: always for `shared`, for an environment only with
    # `platform.create`.
    platform: PlatformSettings | None
    environment: EnvironmentSettings | None

    @property
    def role(self) -> Role:
        return self.kind.role

    @property
    def profile(self) -> Profile | None:
        return self.kind.profile

    @property
    def is_ephemeral(self) -> bool:
        return self.kind.is_ephemeral


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
    kind = stack_kind(stack, own.get("role"), own.get("profile"))
    role = kind.role
    problem = role_problem(stack, role.value)
    if problem is not None:
        problems.append(f"{PROJECT}:role: {problem}")
    platform: PlatformSettings | None
    environment: EnvironmentSettings | None
    if role is Role.PLATFORM:
        platform = _collect(problems, lambda: _platform_settings(region, own))
        problems += config_checks.hostname_problems(
            PROJECT, platform.edge.domain, platform.environments, ""
        )
        environment, cost_center = None, platform.cost_center
    else:
        assert kind.profile is not None  # every environment has one
        environment, platform = _environment_settings(stack, kind.profile, region, own, problems)
        cost_center = environment.cost_center
    if f"{PROJECT}:costCenter" not in secret_keys:  # a secret's value is unknown offline
        try:
            check_tag_value(cost_center)
        except ValueError as error:
            problems.append(f"{PROJECT}:costCenter: {error}")
    if problems:
        raise ConfigError("\n".join(problems))
    return StackConfig(
        project=PROJECT,
        stack=stack,
        kind=kind,
        region=region,
        cost_center=cost_center,
        platform=platform,
        environment=environment,
    )


def _environment_settings(
    stack: str, profile: Profile, region: str, own: dict[str, Any], problems: list[str]
) -> tuple[EnvironmentSettings, PlatformSettings | None]:
    """An environment's settings over its profile, and the platform it builds itself
    (a sandbox) if any; problems found join `problems`."""
    platform_keys = {key: own.pop(key) for key in PLATFORM_SECTIONS & own.keys()}
    settings = _collect(
        problems,
        lambda: _validate(
            EnvironmentSettings,
            deep_merge(
                profile_for_redis(ENVIRONMENT_PROFILES[profile], own.get("redis")),
                {**own, "profile": profile.value},
            ),
        ),
    )
    # The release's fit is judged once the keys agree (stacks/release_fit.py).
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
    # A sandbox's platform serves the sandbox alone.
    sandbox = _collect(
        problems,
        lambda: _platform_settings(
            region,
            {
                # pr-<N> sandboxes run Redis and PostgreSQL in their namespace.
                "environments": {} if profile is Profile.EPHEMERAL else {stack: profile.value},
                **platform_keys,
                "costCenter": settings.cost_center,
            },
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


def _collect(problems: list[str], validate: Callable[[], ModelT]) -> ModelT:
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
            problem = zone_problem(region, zone) if isinstance(zone, str) else "is not a zone name"
            if problem is not None:
                raise ConfigError(f"{PROJECT}:network.availabilityZones[{index}]: {problem}")
    return own


# Keys only an environment reads, which a platform stack refuses by name.
ENVIRONMENT_KEYS = frozenset(
    field.alias or name
    for name, field in EnvironmentSettings.model_fields.items()
    if name not in ("role", "cost_center")
)

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


def _validate(model: type[ModelT], values: Mapping[str, Any]) -> ModelT:
    try:
        return model.model_validate(values)
    except ValidationError as error:
        platform = model is PlatformSettings
        foreign = ENVIRONMENT_KEYS if platform else PLATFORM_SECTIONS
        role = Role.PLATFORM if platform else Role.ENVIRONMENT
        raise ConfigError("\n".join(describe(error, PROJECT, foreign, role.value))) from None
