"""GPU cost per 1,000 images (SD 1.5, 512 px, 30 steps) for the GPU pool's instance types,
from each type's hourly price and a cited images/s of its GPU (`gpu_throughput.yaml`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.cost.lines import camel_case
from tools.cost.prices import PriceTable

THROUGHPUT = Path(__file__).with_name("gpu_throughput.yaml")
STEPS = 30
# The GPU (one each) of the instance types a GPU pool may name.
GPUS = {"g4dn.xlarge": "T4", "g4dn.2xlarge": "T4", "g5.xlarge": "A10G", "g6.xlarge": "L4"}


@dataclass(frozen=True)
class ImageCost:
    instance_type: str
    gpu: str
    images_per_second: float | None  # None: no cited figure for this GPU
    spot_per_1000: float | None
    on_demand_per_1000: float | None
    source: str

    def as_json(self) -> dict[str, Any]:
        return camel_case(asdict(self))


def cost_per_1000_images(instance_types: list[str], prices: PriceTable) -> list[ImageCost]:
    figures: dict[str, dict[str, Any]] = yaml.safe_load(THROUGHPUT.read_text())
    costs = []
    for instance_type in instance_types:
        gpu = GPUS.get(instance_type, "unknown")
        figure = figures.get(gpu)
        if figure is None:
            costs.append(ImageCost(instance_type, gpu, None, None, None, "no cited figure"))
            continue
        rate = float(figure["iterationsPerSecond"]) / STEPS
        seconds = 1000 / rate
        spot = prices.ec2_hour(instance_type, "spot").price
        on_demand = prices.ec2_hour(instance_type, "on-demand").price
        costs.append(
            ImageCost(
                instance_type,
                gpu,
                round(rate, 4),
                round(spot * seconds / 3600, 3),
                round(on_demand * seconds / 3600, 3),
                " ".join(str(figure["source"]).split()),
            )
        )
    return costs
