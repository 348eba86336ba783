"""The platform's GPU NodePools, weighted by $ per image (issue 26, item 2).

Karpenter tries NodePools in order of `weight`, highest first, and falls to the next
when a pool cannot launch (no Spot or on-demand capacity, or its limit reached). So each
GPU type the throughput table has measured gets its own pool, weighted in the order of
`gpu_ranking.json` — the cost estimator's Spot $ per image, generated from the same
table (tools/generate/gpu_ranking.py) — and the allowed types it has no figure for share
one pool at the lowest weight: still capacity when the measured types have none (SPEC's
T4 and A10G), never chosen on a guess over a type that is known to be cheaper per image.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import NamedTuple

RANKING_FILE = Path(__file__).with_name("gpu_ranking.json")
# Karpenter's NodePool weight is 1-100 (its CRD); measured types step down from the top.
TOP_WEIGHT = 100
WEIGHT_STEP = 10
FALLBACK_WEIGHT = 1
FALLBACK_POOL = "unmeasured"


class WeightedPool(NamedTuple):
    name: str  # the NodePool is gpu-<name>
    instance_types: list[str]
    weight: int


@functools.cache
def measured_order() -> tuple[str, ...]:
    """Measured GPU instance types, cheapest per image first."""
    document = json.loads(RANKING_FILE.read_text())
    return tuple(row["instanceType"] for row in document["measured"])


def weighted_pools(
    instance_types: list[str], order: tuple[str, ...] | None = None
) -> list[WeightedPool]:
    """One pool per allowed measured type, by `order` (default: the generated ranking),
    and one lowest-weight pool for the allowed types without a figure."""
    ranked = [t for t in (measured_order() if order is None else order) if t in instance_types]
    if len(ranked) * WEIGHT_STEP >= TOP_WEIGHT:
        raise ValueError(f"{len(ranked)} measured GPU types leave no weight for a fallback")
    pools = [
        WeightedPool(name.replace(".", "-"), [name], TOP_WEIGHT - rank * WEIGHT_STEP)
        for rank, name in enumerate(ranked)
    ]
    rest = [t for t in instance_types if t not in ranked]
    if rest:
        pools.append(WeightedPool(FALLBACK_POOL, rest, FALLBACK_WEIGHT))
    return pools
