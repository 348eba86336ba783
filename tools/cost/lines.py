"""What an estimate is made of: priced lines, and resources that cost nothing or that the
price table cannot price."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pydantic.alias_generators import to_camel


def camel_case(document: dict[str, Any]) -> dict[str, Any]:
    """A dataclass's fields as the JSON output spells keys (camelCase, as the preview does)."""
    return {to_camel(key): value for key, value in document.items()}


@dataclass(frozen=True)
class Line:
    """One charge of one resource: quantity x unit price x units = monthly USD."""

    stack: str
    resource: str  # the Pulumi name
    type: str  # the Pulumi type token
    urn: str
    service: str  # AWS's service name, for subtotals
    item: str  # what is charged, e.g. "g4dn.xlarge spot node-hours"
    quantity: float
    unit_price: float
    price_unit: str
    units: float  # hours (730 a month) or 1 for monthly prices
    monthly: float
    assumption: str  # the usage or configuration the line rests on
    price_key: str
    confidence: str
    # Monthly USD at the configured minimum and maximum of an autoscaled thing.
    bounds: tuple[float, float] | None = None

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["bounds"] = list(self.bounds) if self.bounds else None
        return camel_case(document)


@dataclass(frozen=True)
class Unpriced:
    """A resource with no line: free, priced on another resource's line, or unknown."""

    stack: str
    resource: str
    type: str
    status: str  # "free" | "elsewhere" | "not priced"
    reason: str

    def as_json(self) -> dict[str, Any]:
        return camel_case(asdict(self))
