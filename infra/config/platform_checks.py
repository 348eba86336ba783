"""The checks behind the platform keys' validators (infra/config/platform.py): what AWS
would refuse half-way through `pulumi up`, raised while the config is read, naming the key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv4Network

from infra.aws_limits import hostname_problem
from infra.aws_schedules import (
    RDS_BACKUP_WINDOW_MIN,
    RDS_MAINTENANCE_WINDOW_MIN,
    aurora_version_problem,
    cron_problem,
    daily,
    length_problem,
    overlap,
    weekly,
)
from infra.config.messages import KeyProblem

# The public API endpoint answers only these; anything wider than a /16 (65,536
# addresses) is the internet in all but name.
WIDEST_PUBLIC_ACCESS_PREFIX = 16


def narrow_public_range(network: IPv4Network) -> IPv4Network:
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


def checked_backup_schedule(expression: str) -> str:
    problem = cron_problem(expression, hourly_at_most=True)
    if problem is not None:
        raise ValueError(f"{expression!r} {problem}")
    return expression


def domain_fits_aws(domain: str) -> str:
    problem = hostname_problem(domain, certificate=False)
    if problem is not None:
        raise ValueError(problem)
    return domain


def check_subnets(
    cidr: IPv4Network, zones: int, subnets: Mapping[str, Sequence[IPv4Network]]
) -> None:
    """One subnet per zone under each key, each inside the VPC, none over another."""
    seen: list[tuple[str, IPv4Network]] = []
    for key, blocks in subnets.items():
        if len(blocks) != zones:
            raise KeyProblem(
                key,
                f"lists {len(blocks)} subnets for {zones} availability zones: give one "
                f"per zone (set {key}, whose default has 3)",
            )
        for index, block in enumerate(blocks):
            if not block.subnet_of(cidr):
                raise KeyProblem(f"{key}[{index}]", f"{block} is not inside the VPC {cidr}")
            for other_key, other in seen:
                if block.overlaps(other):
                    raise KeyProblem(f"{key}[{index}]", f"{block} overlaps {other} ({other_key})")
            seen.append((f"{key}[{index}]", block))


def check_aurora(
    *,
    min_capacity: float,
    max_capacity: float,
    seconds_until_auto_pause: int | None,
    engine_version: str,
    backup_window: str,
    maintenance_window: str,
) -> None:
    if max_capacity < min_capacity:
        raise KeyProblem("maxCapacity", f"must be at least minCapacity ({min_capacity})")
    if seconds_until_auto_pause is not None and min_capacity != 0:
        raise KeyProblem("secondsUntilAutoPause", "only a cluster with minCapacity 0 pauses")
    problem = aurora_version_problem(engine_version, pauses=min_capacity == 0)
    if problem is not None:
        raise KeyProblem("engineVersion", problem)
    for key, interval, minimum in (
        ("backupWindow", daily(backup_window), RDS_BACKUP_WINDOW_MIN),
        ("maintenanceWindow", weekly(maintenance_window), RDS_MAINTENANCE_WINDOW_MIN),
    ):
        problem = length_problem(interval, minimum, "a window")
        if problem is not None:
            raise KeyProblem(key, problem)
    if overlap(backup_window, maintenance_window):
        raise KeyProblem(
            "backupWindow",
            f"{backup_window} overlaps maintenanceWindow ({maintenance_window}); "
            "RDS refuses a backup window that meets the maintenance window",
        )
