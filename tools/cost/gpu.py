"""GPU node-hours from images: the sourced throughput table (`gpu_throughput.yaml`), the
cheapest instance type per image among those a GPU pool allows, and raw and effective
$/1,000 images per type.

Node-hours = images x seconds an image / utilisation + the tails of every scale-from-zero
(the node's cold start, KEDA's cooldown, Karpenter's consolidateAfter): raw cost counts the
seconds of work only, effective cost divides the whole bill by the images made.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.cost.gpus import GPUS
from tools.cost.lines import camel_case
from tools.cost.prices import DAYS_PER_MONTH, HOURS_PER_MONTH, PriceTable
from tools.cost.usage import PlatformUsage, Workload

THROUGHPUT = Path(__file__).with_name("gpu_throughput.yaml")


@dataclass(frozen=True)
class Row:
    gpu: str
    model: str
    size: int
    setting: str
    batch: int
    iterations_per_second: float | None  # None: unmeasured
    source: str

    def seconds_per_image(self, steps: int) -> float | None:
        if self.iterations_per_second is None:
            return None
        return steps / (self.iterations_per_second * self.batch)


@functools.cache
def table() -> tuple[Row, ...]:
    document = yaml.safe_load(THROUGHPUT.read_text())
    return tuple(
        Row(
            gpu=row["gpu"],
            model=row["model"],
            size=int(row["size"]),
            setting=row["setting"],
            batch=int(row["batch"]),
            iterations_per_second=row["iterationsPerSecond"],
            source=" ".join(str(row["source"]).split()),
        )
        for row in document["rows"]
    )


def row_for(gpu: str, workload: Workload, setting: str, batch: int) -> Row | None:
    for row in table():
        if (row.gpu, row.model, row.size, row.setting, row.batch) == (
            gpu,
            workload.model,
            workload.size,
            setting,
            batch,
        ):
            return row
    return None


def work_seconds(instance_type: str, usage: PlatformUsage) -> float | None:
    """Seconds of GPU work the usage's images take on `instance_type`; None when a
    workload has no measured row for its GPU."""
    gpu = GPUS.get(instance_type)
    total = 0.0
    for workload in usage.images:
        row = row_for(gpu or "", workload, usage.gpu_setting, usage.gpu_batch)
        seconds = row.seconds_per_image(workload.steps) if row else None
        if seconds is None:
            return None
        total += workload.per_month * seconds
    return total


def tail_hours(usage: PlatformUsage, keda_cooldown_s: float, consolidate_after_s: float) -> float:
    """Node-hours a month that make no image: each scale-from-zero pays the cold start, and
    each scale-to-zero waits out KEDA's cooldown and then Karpenter's consolidateAfter."""
    per_cycle_s = usage.gpu_cold_start_seconds + keda_cooldown_s + consolidate_after_s
    return usage.gpu_scale_ups_per_day * DAYS_PER_MONTH * per_cycle_s / 3600


@dataclass(frozen=True)
class ImageCost:
    instance_type: str
    gpu: str
    seconds_per_image: float | None  # None: unmeasured for the usage's images
    node_hours: float | None
    raw_spot_per_1000: float | None
    raw_on_demand_per_1000: float | None
    effective_per_1000: float | None  # the month's bill for the type / images made
    source: str

    def as_json(self) -> dict[str, Any]:
        return camel_case(asdict(self))


def node_hours(work_s: float, usage: PlatformUsage, tails: float, limit_nodes: float) -> float:
    """GPU node-hours a month, at most the pool's limit running all month."""
    return min(work_s / 3600 / usage.gpu_utilisation + tails, limit_nodes * HOURS_PER_MONTH)


def blended_hour(instance_type: str, usage: PlatformUsage, prices: PriceTable) -> float:
    share = usage.gpu_on_demand_share
    spot = prices.ec2_hour(instance_type, "spot").price
    return (1 - share) * spot + share * prices.ec2_hour(instance_type, "on-demand").price


def image_costs(
    instance_types: list[str],
    usage: PlatformUsage,
    prices: PriceTable,
    tails: float,
    limit_nodes: float,
) -> list[ImageCost]:
    """Raw and effective $/1,000 images of each type, at the usage's volume and setting."""
    images = sum(workload.per_month for workload in usage.images)
    costs = []
    for instance_type in instance_types:
        gpu = GPUS.get(instance_type, "unknown")
        work = work_seconds(instance_type, usage)
        first = usage.images[0] if usage.images else None
        row = row_for(gpu, first, usage.gpu_setting, usage.gpu_batch) if first else None
        source = row.source if row else "no row for this GPU in gpu_throughput.yaml"
        if work is None or images == 0:
            costs.append(ImageCost(instance_type, gpu, None, None, None, None, None, source))
            continue
        per_image = work / images
        spot = prices.ec2_hour(instance_type, "spot").price
        on_demand = prices.ec2_hour(instance_type, "on-demand").price
        hours = node_hours(work, usage, tails, limit_nodes)
        bill = hours * blended_hour(instance_type, usage, prices)
        costs.append(
            ImageCost(
                instance_type,
                gpu,
                round(per_image, 3),
                round(hours, 1),
                round(spot * per_image / 3.6, 3),
                round(on_demand * per_image / 3.6, 3),
                round(bill / images * 1000, 3),
                source,
            )
        )
    return costs


def cheapest(costs: list[ImageCost]) -> ImageCost:
    """The type whose month costs least for the usage's images; LookupError if no type
    has a measured row."""
    priced = [cost for cost in costs if cost.effective_per_1000 is not None]
    if not priced:
        raise LookupError(
            "no allowed GPU type has a measured throughput for the usage's images "
            "(tools/cost/gpu_throughput.yaml)"
        )
    return min(priced, key=lambda cost: cost.effective_per_1000 or 0.0)
