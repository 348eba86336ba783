"""Cluster misfits of an environment, caught from its config before anything is
registered, where `pulumi up` would otherwise fail only after the Helm release's 900 s
wait (issue 24, item 4):

- chart values that contradict each other (app/chart_checks.py);
- a priority class the platform neither creates nor admits for the environment (the
  platform makes its profile's class, components/delivery/deployers.py, and its
  `pingvas-environment-priorities` admission policy admits only that one);
- a ResourceQuota below what the release needs at its worst moment: every workload at its
  maximum scale plus the rollout's surge or one-off pods (app/chart_capacity.py over
  app/chart_workloads.py).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from pydantic import ValidationError

from app.chart_capacity import CONTAINER_DEFAULT_REQUEST, overages, peak_usage
from app.chart_checks import contradictions
from app.chart_layers import ValuesLayers
from app.chart_values import ChartValues
from app.chart_workloads import release_workloads
from infra.config import ConfigError, EnvironmentSettings, StackConfig, load_stack_config
from infra.config.profiles import ENVIRONMENT_PROFILES, Profile

# The chart values a stack's keys set (components/environment/app_release.py's overrides).
CONFIG_KEYS = {
    "priorityClassName": "priorityClass.name",
    "api.replicas": "services.replicas",
    "api.autoscaling.enabled": "services.autoscaling",
    "worker.minReplicas": "gpuWorkers.min",
    "worker.maxReplicas": "gpuWorkers.max",
}
# The quota's resources, by the stack key that sets each.
QUOTA_KEYS = {
    "requests.cpu": "quota.cpu",
    "requests.memory": "quota.memory",
    "requests.nvidia.com/gpu": "quota.gpu",
    "pods": "quota.pods",
}


def sizing_values(settings: EnvironmentSettings) -> dict[str, Any]:
    """The chart values the stack's keys set, as the release hands them to Helm."""
    return {
        "priorityClassName": settings.priority_class.name,
        "api": {
            "replicas": settings.services.replicas,
            "autoscaling": {"enabled": settings.services.autoscaling},
        },
        "worker": {
            "minReplicas": settings.gpu_workers.min,
            "maxReplicas": settings.gpu_workers.max,
        },
    }


def checked_stack_config(
    stack: str, raw: Mapping[str, str], secret_keys: Collection[str] = ()
) -> StackConfig:
    """The stack's config (infra.config.load_stack_config), refused too when the app's
    release cannot fit the namespace it describes: judged here, before any resource is
    registered, because it needs the chart's values model, which the config library may
    not import. The program and the offline preview both load config through this."""
    config = load_stack_config(stack, raw, secret_keys)
    profile = config.kind.profile
    if config.environment is not None and profile is not None:
        problems = release_fit_problems(config.project, profile, config.environment)
        if problems:
            raise ConfigError("\n".join(problems))
    return config


def release_fit_problems(
    project: str, profile: Profile, settings: EnvironmentSettings
) -> list[str]:
    """One line per misfit, naming the stack key (or the chart's values key); [] when the
    release fits the namespace the config describes."""
    problems = _priority_problems(project, profile, settings)
    files = f"app/chart/values.yaml, values-{profile.value}.yaml"
    try:
        values = ValuesLayers(sizing_values(settings), profile.value).validated()
    except ValidationError as error:
        return [*problems, f"chart values ({files}): {error}"]
    for key, why in contradictions(values):
        source = f"{project}:{CONFIG_KEYS[key]}" if key in CONFIG_KEYS else f"{key} ({files})"
        problems.append(f"{source}: {why}")
    return problems + _quota_problems(project, values, settings)


def _priority_problems(project: str, profile: Profile, settings: EnvironmentSettings) -> list[str]:
    platform_class = ENVIRONMENT_PROFILES[profile]["priorityClass"]
    own = settings.priority_class
    if own.name != platform_class["name"]:
        return [
            f"{project}:priorityClass.name: {own.name!r} is not a class the platform creates "
            f"and admits for a {profile.value} environment: its pods would be refused; use "
            f"{platform_class['name']!r} (or remove priorityClass)"
        ]
    if own.value != platform_class["value"]:
        return [
            f"{project}:priorityClass.value: {own.value} is not the value of the platform's "
            f"{own.name} ({platform_class['value']}); the platform sets it, remove "
            "priorityClass.value"
        ]
    return []


def _quota_problems(project: str, values: ChartValues, settings: EnvironmentSettings) -> list[str]:
    quota = settings.quota
    hard = {
        "requests.cpu": str(quota.cpu),
        "requests.memory": quota.memory,
        "requests.nvidia.com/gpu": str(quota.gpu),
        "pods": str(quota.pods),
    }
    usage = peak_usage(release_workloads(values), CONTAINER_DEFAULT_REQUEST)
    return [
        f"{project}:{QUOTA_KEYS[key]}: the release needs {asked} ({key}) at its worst "
        "moment (every service at its maximum replicas, the GPU workers at gpuWorkers.max, "
        f"plus a rollout's surge or hook pod), above the quota's {allowed}; raise "
        f"{QUOTA_KEYS[key]} or lower those maxima"
        for key, asked, allowed in overages(usage, hard)
    ]
