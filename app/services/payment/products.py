"""What can be bought. Lemon Squeezy variant ids come from ``LEMONSQUEEZY_VARIANTS``
(JSON: product name -> variant id), so the same code serves test and live stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Product:
    name: str
    kind: Literal["credits", "subscription"]
    credits: int  # one-off pack size, or the monthly allowance of a subscription
    tier: str | None = None


PRODUCTS: dict[str, Product] = {
    product.name: product
    for product in (
        Product("credits-100", "credits", 100),
        Product("credits-500", "credits", 500),
        Product("basic", "subscription", 1000, tier="basic"),
        Product("pro", "subscription", 5000, tier="pro"),
    )
}
# Subscription statuses (Lemon Squeezy) that keep the paid tier; "cancelled" runs
# until the end of the period and is followed by "expired".
PAID_STATUSES = frozenset({"on_trial", "active", "past_due", "cancelled"})


def by_variant(variants: dict[str, str], variant_id: object) -> Product | None:
    for name, configured in variants.items():
        if str(configured) == str(variant_id) and name in PRODUCTS:
            return PRODUCTS[name]
    return None
