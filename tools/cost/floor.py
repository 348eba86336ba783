"""The least shared + dev + prod could cost at SPEC §8's usage while keeping SPEC's
availability and each environment's isolation: a lower bound to hold a cost target
against (issue 16's $999; docs/decisions/0105-the-999-target.md).

Starts from the defaults' estimate and lowers the lines a configuration could still
lower, each to what no configuration could undercut. It keeps every line that SPEC's
usage fixes (GPU node-hours, ACUs, storage, transfer, logs) or a guarantee needs (the
Multi-AZ Aurora reader, the prod cache's failover, WAF, a secret and a key per
credential, an ALB per environment: an ingress group merges its members' settings, so a
shared ALB would let one environment break another's listener). Generous on purpose:
the API pods run for nothing and dev's Redis in its namespace, so that any configuration
that keeps SPEC's availability and the isolation costs at least the floor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from infra.config import Profile, profile_by_name
from tools.cost.estimate import Estimate
from tools.cost.lines import Line
from tools.cost.prices import HOURS_PER_MONTH, PriceTable
from tools.cost.rules.compute import INSTANCE_SPECS

# A primary and a replica in another zone: automatic failover needs both (SPEC §4).
CACHE_NODES_FOR_FAILOVER = 2
# Karpenter runs two replicas on the system nodes, one a node.
SYSTEM_NODES = 2
SMALLEST_ROOT_VOLUME_GB = 20  # the AL2023 image
AURORA_ACU_HOUR = "aurora-postgresql/serverless-v2-acu-hour"


@dataclass(frozen=True)
class Cut:
    what: str
    before: float
    after: float
    why: str


@dataclass(frozen=True)
class Floor:
    defaults: float
    total: float
    cuts: list[Cut]
    # What a 1-year Database Savings Plan takes off the ACUs at most: a purchase, not a
    # configuration, so a target is shown with and without it.
    savings_plan: float


@dataclass(frozen=True)
class _Rule:
    what: str
    applies: Callable[[Line], bool]
    least: Callable[[PriceTable], float]
    why: str


def _cheapest_valkey_node(table: PriceTable) -> float:
    return min(p.price for key, p in table.items.items() if key.startswith("elasticache/valkey/"))


def _least_system_nodes(table: PriceTable) -> float:
    hourly = min(table.ec2_hour(t, "spot").price for t in INSTANCE_SPECS)
    volume = table.get("ebs/gp3-storage").price
    return SYSTEM_NODES * (hourly * HOURS_PER_MONTH + SMALLEST_ROOT_VOLUME_GB * volume)


RULES = [
    _Rule(
        "API pods on the general pool (dev, prod)",
        lambda line: (
            line.type == "kubernetes:helm.sh/v3:Release"
            and line.service == "EC2"
            and profile_by_name(line.stack) in (Profile.DEV, Profile.PROD)
        ),
        lambda _: 0.0,
        "as if they fitted on nodes paid for elsewhere",
    ),
    _Rule(
        "dev's cache",
        lambda line: line.service == "ElastiCache" and profile_by_name(line.stack) is Profile.DEV,
        lambda _: 0.0,
        "Redis in dev's namespace, as a preview runs it",
    ),
    _Rule(
        "prod's cache",
        lambda line: line.service == "ElastiCache" and profile_by_name(line.stack) is Profile.PROD,
        lambda table: CACHE_NODES_FOR_FAILOVER * _cheapest_valkey_node(table) * HOURS_PER_MONTH,
        "primary + replica in two zones (failover) on the table's smallest Valkey node",
    ),
    _Rule(
        "system nodes",
        lambda line: line.type == "aws:eks/nodeGroup:NodeGroup",
        _least_system_nodes,
        "two nodes of the table's cheapest Spot type, 20 GB roots",
    ),
]


def floor(defaults: Estimate, table: PriceTable) -> Floor:
    cuts = []
    for rule in RULES:
        before = round(sum(line.monthly for line in defaults.lines if rule.applies(line)), 2)
        if before == 0:
            raise LookupError(f"the floor's rule {rule.what!r} matches no priced line")
        after = round(min(rule.least(table), before), 2)
        cuts.append(Cut(rule.what, before, after, rule.why))
    total = round(defaults.total - sum(cut.before - cut.after for cut in cuts), 2)
    plan = database_savings_plan(defaults, table)
    return Floor(defaults=defaults.total, total=total, cuts=cuts, savings_plan=plan)


def database_savings_plan(result: Estimate, table: PriceTable) -> float:
    """The most a 1-year Database Savings Plan takes off: it covers Aurora Serverless v2
    ACU-hours; burstable (t4g) cache nodes are not eligible."""
    discount = table.get("savings-plans/database-serverless-discount").price
    acus = sum(line.monthly for line in result.lines if line.price_key == AURORA_ACU_HOUR)
    return round(acus * discount, 2)
