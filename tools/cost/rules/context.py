"""What every pricing rule reads: the stack's preview document, the usage, the price
table and the platform it runs on; and helpers for Kubernetes quantities and bounds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tools.cost.lines import Line, Unpriced
from tools.cost.prices import HOURS_PER_MONTH, Price, PriceTable
from tools.cost.usage import Usage

Resource = dict[str, Any]


@dataclass
class Context:
    """One stack's preview document and what its rules read besides."""

    stack: str
    document: Mapping[str, Any]
    usage: Usage
    prices: PriceTable
    # The platform's document: the stack's own, or the shared stack it references.
    platform: Mapping[str, Any]
    seen_load_balancers: set[str] = field(default_factory=set)

    def by_id(self, resource_id: str) -> Resource | None:
        for resource in self.document["resources"]:
            if resource["id"] == resource_id:
                return resource
        return None

    def of_type(self, type_token: str, document: Mapping[str, Any] | None = None) -> list[Resource]:
        source = document if document is not None else self.document
        return [r for r in source["resources"] if r["type"] == type_token]

    def role(self, resource: Resource) -> str:
        """The resource's name without the `<project>-<stack>-` prefix."""
        prefix = f"{self.document['project']}-{self.stack}-"
        return str(resource["name"]).removeprefix(prefix)

    def charge(
        self,
        resource: Resource,
        service: str,
        item: str,
        quantity: float,
        price: Price | str,  # a Price, or its key in the table
        assumption: str,
        bounds: tuple[float, float] | None = None,
    ) -> Line:
        if isinstance(price, str):
            price = self.prices.get(price)
        units = HOURS_PER_MONTH if price.unit.endswith("hour") else 1
        return Line(
            stack=self.stack,
            resource=resource["name"],
            type=resource["type"],
            urn=resource["urn"],
            service=service,
            item=item,
            quantity=round(quantity, 6),
            unit_price=price.price,
            price_unit=price.unit,
            units=units,
            monthly=round(quantity * price.price * units, 2),
            assumption=assumption,
            price_key=price.key,
            confidence=price.confidence,
            bounds=bounds,
        )


def unpriced(resource: Resource, context: Context, status: str, reason: str) -> Unpriced:
    return Unpriced(context.stack, resource["name"], resource["type"], status, reason)


def requirements_of(pool: Resource) -> dict[str, list[str]]:
    requirements = pool["inputs"]["spec"]["template"]["spec"]["requirements"]
    return {r["key"]: r["values"] for r in requirements}


def by_price(price: Price) -> float:
    return price.price


def monthly_bounds(low: float, high: float, monthly_each: float) -> tuple[float, float]:
    return (round(low * monthly_each, 2), round(high * monthly_each, 2))


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_BINARY = {"": 1 / 2**30, "Ki": 2**-20, "Mi": 2**-10, "Gi": 1.0, "Ti": 2**10}
_DECIMAL = {"k": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30}


def cpu_cores(quantity: str | float) -> float:
    """A Kubernetes CPU quantity in cores ("250m" is 0.25)."""
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def gibibytes(quantity: str | float) -> float:
    """A Kubernetes memory or storage quantity in GiB ("384Mi" is 0.375)."""
    match = _QUANTITY.match(str(quantity))
    if match is None:
        raise LookupError(f"{quantity!r} is not a quantity")
    number, suffix = float(match.group(1)), match.group(2)
    factor = _BINARY.get(suffix, _DECIMAL.get(suffix))
    if factor is None:
        raise LookupError(f"{quantity!r} has an unknown unit")
    return number * factor


def as_priced(asked: float, priced: float) -> str:
    """Usage as priced, saying so where the configured bounds cut it."""
    return f"{priced:g}" if asked == priced else f"{priced:g} (usage asks {asked:g}; bounded)"
