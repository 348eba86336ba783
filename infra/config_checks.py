"""Checks of a stack's config that no single key's validator can make: across
namespaces, across keys, and across stacks. Each returns one line per problem, naming
the key, and never raises; `infra.config` turns the lines into one `ConfigError`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from infra.aws_catalog import REGIONS
from infra.aws_limits import hostname_problem, partition_problem
from infra.config.profiles import Profile, owns_apex_hosts
from infra.naming import Naming

if TYPE_CHECKING:
    from infra.config import EnvironmentSettings, PlatformSettings

# Namespaces of keys the program reads. The stacks build their AWS and Kubernetes
# providers explicitly (Pulumi.yaml disables the default ones), so a provider key other
# than these would be silently ignored; the reason is given with the error.
ENGINE_NAMESPACE = "pulumi"  # engine options such as pulumi:disable-default-providers
# The options the engine reads from config (www.pulumi.com/docs/iac/concepts/config/);
# any other pulumi:* key would be silently ignored.
ENGINE_OPTIONS = frozenset({"disable-default-providers", "tags", "autonaming"})
PROVIDER_KEYS: dict[str, tuple[frozenset[str], str]] = {
    "aws": (
        frozenset({"region"}),
        "the stacks' AWS provider reads only aws:region; give credentials through the "
        "environment (AWS_PROFILE, AWS_ROLE_ARN, ...)",
    ),
    "kubernetes": (
        frozenset(),
        "the stacks' Kubernetes provider uses the platform's kubeconfig and reads no "
        "kubernetes:* key",
    ),
}
# Keys whose values are credentials: `secure:` in the stack file, never plain text.
_SECRET_NAME = re.compile(r"(secret|apikey|api_key|password|passwd|token)$", re.IGNORECASE)


def namespace_problems(project: str, raw: Mapping[str, Any]) -> list[str]:
    known = [project, ENGINE_NAMESPACE, *PROVIDER_KEYS]
    problems = []
    for full_key in sorted(raw):
        namespace, _, key = full_key.partition(":")
        if namespace == project:
            continue
        if namespace == ENGINE_NAMESPACE:
            if key not in ENGINE_OPTIONS:
                options = ", ".join(
                    f"{ENGINE_NAMESPACE}:{option}" for option in sorted(ENGINE_OPTIONS)
                )
                problems.append(f"{full_key}: not an option the Pulumi engine reads ({options})")
            continue
        if namespace in PROVIDER_KEYS:
            readable, reason = PROVIDER_KEYS[namespace]
            if key not in readable:
                problems.append(f"{full_key}: {reason}")
            continue
        guess = difflib.get_close_matches(namespace, known, n=1)
        hint = f" (did you mean {guess[0]}:{key}?)" if guess else ""
        problems.append(
            f"{full_key}: unknown namespace {namespace!r}{hint}; the program reads "
            f"{project}:<key>, aws:region and pulumi:<option>"
        )
    return problems


def plaintext_secret_problems(raw: Mapping[str, Any], secret_keys: Collection[str]) -> list[str]:
    problems = []
    for full_key, value in sorted(raw.items()):
        if full_key in secret_keys:
            continue
        for path, leaf in _leaves(full_key, value):
            if _SECRET_NAME.search(path.rsplit(".", 1)[-1]) and leaf not in ("", None):
                flag = " --path" if "." in path else ""
                problems.append(
                    f"{path}: a secret in plain text; set it with "
                    f"`pulumi config set --secret{flag} {path} VALUE` (stored as `secure:`)"
                )
    return problems


def _leaves(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _leaves(f"{path}.{key}", item)
    else:
        yield path, value


def region_problems(region: str) -> list[str]:
    if region in REGIONS:
        problem = partition_problem(region)
        return [] if problem is None else [f"aws:region: {problem}"]
    guess = difflib.get_close_matches(region, sorted(REGIONS), n=1)
    hint = f" (did you mean {guess[0]}?)" if guess else ""
    return [f"aws:region: {region!r} is not an AWS region{hint}"]


# The hostnames each environment gets a certificate for (stacks/edge.py).
CERTIFIED_SERVICES = ("api", "images")


def hostname_problems(project: str, domain: str, stacks: Collection[str], where: str) -> list[str]:
    """Each environment's certified hostnames within DNS's and ACM's limits."""
    problems = []
    for stack in stacks:
        for service in CERTIFIED_SERVICES:
            hostname = Naming(stack).hostname(service, domain, apex=owns_apex_hosts(stack))
            problem = hostname_problem(hostname, certificate=True)
            if problem is not None:
                problems.append(
                    f"{project}:edge.domain: {stack}'s {service} hostname {problem}; choose a "
                    f"shorter domain{where} or environment name"
                )
                break
    return problems


def environment_problems(project: str, settings: EnvironmentSettings) -> list[str]:
    """Keys of one environment that contradict each other."""
    workers, quota = settings.gpu_workers, settings.quota
    if workers.max > quota.gpu:
        # Each worker requests one GPU (app/chart: worker.resources), counted by the quota.
        return [
            f"{project}:gpuWorkers.max: {workers.max} workers need {workers.max} GPUs, but "
            f"{project}:quota.gpu allows {quota.gpu}; lower gpuWorkers.max or raise quota.gpu"
        ]
    return []


def platform_problems(
    project: str,
    stack: str,
    region: str,
    settings: EnvironmentSettings,
    platform_region: str,
    platform: PlatformSettings,
    platform_file: str,
) -> list[str]:
    """An environment checked against the platform it runs on, where that platform's
    config is known (the offline preview reads its stack file)."""
    problems = []
    if region != platform_region:
        problems.append(
            f"aws:region: {region!r} differs from the platform's region {platform_region!r} "
            f"({platform_file}); an environment runs in its platform's region and VPC"
        )
    problems += hostname_problems(project, platform.edge.domain, [stack], f" (in {platform_file})")
    gpu_limit = platform.cluster.gpu_node_pool.gpu_limit
    if settings.gpu_workers.max > gpu_limit:
        problems.append(
            f"{project}:gpuWorkers.max: {settings.gpu_workers.max} workers can never run: the "
            f"platform's GPU node pool runs at most {gpu_limit} GPUs "
            f"({project}:cluster.gpuNodePool.gpuLimit in {platform_file})"
        )
    if settings.redis.mode.value != "in-cluster" and stack not in platform.environments:
        problems.append(missing_redis_security_group(project, stack, settings, platform_file))
    # A long-lived environment's migrations run as the schema owner the platform made for
    # it (docs/security.md); pr-<N> stacks run their own PostgreSQL.
    if settings.profile is not Profile.EPHEMERAL and stack not in platform.environments:
        problems.append(missing_schema_owner(project, stack, platform_file))
    return problems


def gpu_pool_problem(
    key: str, maxima: Mapping[str, int], gpu_limit: int, platform_file: str
) -> str | None:
    """Every long-lived environment's GPU workers at their maximum, at once, against the
    platform's GPU node pool (one GPU each: app/chart's worker.resources)."""
    total = sum(maxima.values())
    if total <= gpu_limit:
        return None
    terms = " + ".join(f"{stack} {maximum}" for stack, maximum in sorted(maxima.items()))
    return (
        f"{key}: the environments' GPU workers at their maxima ({terms} = {total}) exceed "
        f"the platform's GPU node pool ({gpu_limit}): raise "
        f"pingvas:cluster.gpuNodePool.gpuLimit to {total} in {platform_file}, or lower an "
        "environment's gpuWorkers.max"
    )


def missing_schema_owner(project: str, stack: str, platform_file: str) -> str:
    """What to add where when a long-lived environment has no schema owner."""
    return (
        f"{project}:environments: the platform has no schema owner for {stack}: add "
        f"{stack} (with its profile) to {project}:environments in {platform_file} and deploy "
        "the platform first (the environment's migrations run as that owner)"
    )


def missing_redis_security_group(
    project: str, stack: str, settings: EnvironmentSettings, platform_file: str
) -> str:
    """What to add where when an ElastiCache environment has no security group."""
    return (
        f"{project}:redis.mode: {settings.redis.mode.value!r} (ElastiCache) needs the "
        f"platform's redis-{stack} security group: add {stack} to "
        f"{project}:environments in {platform_file} and deploy the "
        f"platform first, or set {project}:redis.mode to in-cluster"
    )
