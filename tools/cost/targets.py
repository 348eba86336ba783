"""The cost targets (docs/decisions/0106-cost-targets.md), each measured with the
estimator and printed with its figure, met or not:

    python -m tools.cost.targets

No target is fudged: one the defaults miss says so, and docs/cost.md gives its arithmetic
and the lever it needs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tools.cost import prices, usage
from tools.cost.__main__ import preview_document
from tools.cost.estimate import Estimate, estimate
from tools.cost.report import money

SCENARIOS = Path(__file__).with_name("scenarios")
STACKS = ("shared", "dev", "prod")


@dataclass(frozen=True)
class Target:
    what: str
    limit: float
    figure: float | None  # None: unmeasured (no sourced throughput for the workload)
    unit: str

    @property
    def met(self) -> bool:
        return self.figure is not None and self.figure <= self.limit


def priced(stacks: tuple[str, ...], scenario: str | None) -> Estimate:
    path = None if scenario is None else SCENARIOS / f"{scenario}.yaml"
    documents = [preview_document(stack) for stack in stacks]
    return estimate(documents, usage.load(path), prices.load(), preview_document)


def _best_raw(result: Estimate) -> float | None:
    raws = [c.raw_spot_per_1000 for c in result.gpu_image_costs if c.raw_spot_per_1000]
    return min(raws) if raws else None


def _chosen_effective(result: Estimate) -> float | None:
    effective = [c.effective_per_1000 for c in result.gpu_image_costs if c.effective_per_1000]
    return min(effective) if effective else None


def measure() -> list[Target]:
    defaults = priced(STACKS, None)
    preview = priced(("pr-7",), None)
    return [
        Target(
            "shared+dev+prod, three T4 nodes of work (SPEC §8)",
            925.0,
            priced(STACKS, "three-t4-nodes").total,
            "a month",
        ),
        Target("shared+dev+prod, the SPEC-implied images", 825.0, defaults.total, "a month"),
        Target(
            "shared+dev+prod at zero traffic",
            525.0,
            priced(STACKS, "zero-traffic").total,
            "a month",
        ),
        Target("raw GPU, SD1.5 512 px/30 steps, Spot", 0.20, _best_raw(defaults), "/1,000 images"),
        Target(
            "effective GPU at the SPEC-implied images",
            0.35,
            _chosen_effective(defaults),
            "/1,000 images",
        ),
        Target(
            "raw GPU, SDXL 1024 px/30 steps, Spot",
            1.00,
            _best_raw(priced(STACKS[:1], "sdxl")),
            "/1,000 images",
        ),
        Target("not priced (resources)", 0, float(len(defaults.not_priced)), ""),
        Target("a pr-<N> stack", 0.50, preview.per_day("pr-7"), "a day"),
    ]


def main() -> int:
    print("Cost targets (docs/decisions/0106-cost-targets.md):")
    for target in measure():
        figure = "unmeasured" if target.figure is None else money(target.figure)
        verdict = "met" if target.met else "NOT MET"
        limit = money(target.limit)
        print(f"  {target.what:<54} {figure:>11} {target.unit:<14} <= {limit:<9} {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
