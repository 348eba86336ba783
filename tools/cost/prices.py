"""The price table: AWS us-east-1 unit prices with their source, date and confidence.

`aws-us-east-1.json` beside this module is the table; PRICES.md says where each figure
comes from. A missing key is a `LookupError`, never a zero: the estimator lists what it
cannot price.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

HOURS_PER_MONTH = 730  # AWS's and Infracost's convention (SPEC §8 mixes in 720)
DAYS_PER_MONTH = 365 / 12
TABLE = Path(__file__).with_name("aws-us-east-1.json")
# PRICES.md's spot notes: observed discounts are 51-62 %, so budget spot at 45 % of
# on-demand where the table has no spot price for a type.
SPOT_BUDGET_RATIO = 0.45


@dataclass(frozen=True)
class Price:
    key: str
    price: float  # USD per `unit`
    unit: str
    confidence: str  # high | medium | low | derived
    source: str


@dataclass(frozen=True)
class PriceTable:
    region: str
    compiled: str
    items: dict[str, Price]

    def get(self, key: str) -> Price:
        try:
            return self.items[key]
        except KeyError:
            raise LookupError(f"no price for {key!r} in {TABLE.name}") from None

    def ec2_hour(self, instance_type: str, capacity: str) -> Price:
        """Linux $/hour of `instance_type`, `capacity` "spot" or "on-demand"."""
        on_demand = self.get(f"ec2/{instance_type}/on-demand")
        if capacity == "on-demand":
            return on_demand
        spot = self.items.get(f"ec2/{instance_type}/spot")
        if spot is not None:
            return spot
        return Price(
            key=f"ec2/{instance_type}/spot",
            price=round(on_demand.price * SPOT_BUDGET_RATIO, 5),
            unit="hour",
            confidence="derived",
            source=f"{SPOT_BUDGET_RATIO:.0%} of {on_demand.key} (PRICES.md spot budget rule)",
        )


@functools.cache
def load() -> PriceTable:
    document = json.loads(TABLE.read_text())
    items = {
        key: Price(
            key=key,
            price=float(item["price"]),
            unit=item["unit"],
            confidence=item["confidence"],
            source=item["source"],
        )
        for key, item in document["items"].items()
    }
    return PriceTable(region=document["region"], compiled=document["compiled"], items=items)
