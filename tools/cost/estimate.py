"""Prices preview documents: lines per resource, account-level credits, subtotals, total,
the per-day cost of ephemeral stacks, GPU cost per image, and the difference between
two sets of documents."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.config import Profile, profile_by_name
from tools.cost import gpu, rules
from tools.cost.lines import Line, Unpriced
from tools.cost.prices import HOURS_PER_MONTH, Price, PriceTable
from tools.cost.rules import compute
from tools.cost.usage import Usage

Document = Mapping[str, Any]
ACCOUNT = "account"  # the pseudo-stack of account-wide credits (free tiers)
GPU_POOL_LIMIT = "nvidia.com/gpu"


@dataclass
class Estimate:
    lines: list[Line] = field(default_factory=list)
    unpriced: list[Unpriced] = field(default_factory=list)
    gpu_image_costs: list[gpu.ImageCost] = field(default_factory=list)

    @property
    def not_priced(self) -> list[Unpriced]:
        return [entry for entry in self.unpriced if entry.status == "not priced"]

    @property
    def total(self) -> float:
        return round(sum(line.monthly for line in self.lines), 2)

    def subtotals(self, key: Callable[[Line], str]) -> dict[str, float]:
        sums: dict[str, float] = defaultdict(float)
        for line in self.lines:
            sums[key(line)] += line.monthly
        return {name: round(amount, 2) for name, amount in sorted(sums.items())}

    def by_stack(self) -> dict[str, float]:
        return self.subtotals(lambda line: line.stack)

    def by_service(self) -> dict[str, float]:
        return self.subtotals(lambda line: line.service)

    def per_day(self, stack: str) -> float:
        return round(self.by_stack().get(stack, 0.0) * 24 / HOURS_PER_MONTH, 2)

    def dominant(self, stack: str) -> list[tuple[str, float]]:
        """The stack's services by monthly cost, dearest first."""
        own = self.subtotals(lambda line: line.service if line.stack == stack else "")
        own.pop("", None)
        return sorted(((s, a) for s, a in own.items() if a > 0), key=lambda item: -item[1])

    def ephemeral_stacks(self) -> list[str]:
        return [stack for stack in self.by_stack() if profile_by_name(stack) is Profile.EPHEMERAL]

    def as_json(self) -> dict[str, Any]:
        return {
            "currency": "USD",
            "hoursPerMonth": HOURS_PER_MONTH,
            "lines": [line.as_json() for line in self.lines],
            "unpriced": [entry.as_json() for entry in self.unpriced],
            "subtotals": {"stacks": self.by_stack(), "services": self.by_service()},
            "total": self.total,
            "notPricedResources": len(self.not_priced),
            "ephemeral": [
                {
                    "stack": stack,
                    "perDay": self.per_day(stack),
                    "dominant": dict(self.dominant(stack)),
                }
                for stack in self.ephemeral_stacks()
            ],
            "gpuCostPer1000Images": [cost.as_json() for cost in self.gpu_image_costs],
        }


def estimate(
    documents: Sequence[Document],
    usage: Usage,
    prices: PriceTable,
    platform_of: Callable[[str], Document],
) -> Estimate:
    """Prices every resource of `documents`. `platform_of(stack)` gives the preview
    document of a platform stack that an environment references but `documents` lacks."""
    result = Estimate()
    for document in documents:
        platform = _platform(document, documents, platform_of)
        context = rules.Context(document["stack"], document, usage, prices, platform)
        for resource in document["resources"]:
            priced = rules.price_resource(resource, context)
            if isinstance(priced, Unpriced):
                result.unpriced.append(priced)
            elif priced is not None:
                result.lines.extend(priced)
    result.lines.extend(_free_tier_credits(result.lines, usage, prices))
    result.gpu_image_costs = _gpu_image_costs(documents, usage, prices)
    return result


def _platform(
    document: Document, documents: Sequence[Document], platform_of: Callable[[str], Document]
) -> Document:
    if any(r["type"] == "kubernetes:karpenter.sh/v1:NodePool" for r in document["resources"]):
        return document
    reference = str(document.get("outputs", {}).get("platformStack", "shared"))
    stack = reference.rsplit("/", 1)[-1]
    for candidate in documents:
        if candidate["stack"] == stack:
            return candidate
    return platform_of(stack)


def _free_tier_credits(lines: list[Line], usage: Usage, prices: PriceTable) -> list[Line]:
    """The always-free tiers (CloudFront's transfer and requests, CloudWatch's ten alarm
    metrics), once per account, against the lines they cover."""
    account = usage.account
    credits = []
    for item, allowance, unit_scale in (
        ("data transfer out (US/Europe)", account.cloudfront_free_tier_gb, 1.0),
        ("HTTPS requests", account.cloudfront_free_tier_requests_millions, 100.0),
    ):
        charged = [line for line in lines if line.service == "CloudFront" and line.item == item]
        used = sum(line.quantity for line in charged)
        credited = min(used, allowance * unit_scale)
        if credited <= 0:
            continue
        price = prices.get(charged[0].price_key)
        credits.append(_credit("cloudfront-free-tier", "CloudFront", item, credited, price))
    alarms = [line for line in lines if line.price_key == "cloudwatch/alarm-standard-resolution"]
    free = min(sum(line.quantity for line in alarms), account.cloudwatch_free_alarm_metrics)
    if free > 0:
        price = prices.get("cloudwatch/alarm-standard-resolution")
        credits.append(_credit("cloudwatch-free-tier", "CloudWatch", "alarm metrics", free, price))
    return credits


def _credit(name: str, service: str, item: str, credited: float, price: Price) -> Line:
    return Line(
        stack=ACCOUNT,
        resource=name,
        type="account",
        urn="",
        service=service,
        item=f"always-free tier: {item}",
        quantity=-credited,
        unit_price=price.price,
        price_unit=price.unit,
        units=1,
        monthly=round(-credited * price.price, 2),
        assumption=f"{service}'s free tier, used by nothing else in the account",
        price_key=price.key,
        confidence="high",
    )


def _gpu_image_costs(
    documents: Sequence[Document], usage: Usage, prices: PriceTable
) -> list[gpu.ImageCost]:
    """Raw and effective $/1,000 images of every type the GPU pools allow."""
    costs: dict[str, gpu.ImageCost] = {}
    for document in documents:
        for resource in document["resources"]:
            if resource["type"] != compute.NODE_POOL or compute.is_preview_pool(resource):
                continue
            spec = resource["inputs"]["spec"]
            limit = spec.get("limits", {}).get(GPU_POOL_LIMIT)
            if limit is None:
                continue
            # One row a type: the weighted pools hold one type each (the fallback, several).
            types = rules.requirements_of(resource)["node.kubernetes.io/instance-type"]
            tails = compute.gpu_tail_hours(resource, usage.platform)
            for cost in gpu.image_costs(types, usage.platform, prices, tails, float(limit)):
                costs.setdefault(cost.instance_type, cost)
    return list(costs.values())


@dataclass(frozen=True)
class Change:
    stack: str
    resource: str
    type: str
    kind: str  # "+" added, "-" removed, "~" changed
    before: float
    after: float

    @property
    def delta(self) -> float:
        return round(self.after - self.before, 2)

    def as_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "resource": self.resource,
            "type": self.type,
            "change": self.kind,
            "before": self.before,
            "after": self.after,
            "delta": self.delta,
        }


def difference(base: Estimate, head: Estimate) -> list[Change]:
    """The monthly change of every resource whose cost differs between two estimates."""

    def per_resource(result: Estimate) -> dict[tuple[str, str], tuple[str, str, float]]:
        sums: dict[tuple[str, str], tuple[str, str, float]] = {}
        for line in result.lines:
            key = (line.stack, line.urn or line.resource)
            _, _, amount = sums.get(key, (line.resource, line.type, 0.0))
            sums[key] = (line.resource, line.type, amount + line.monthly)
        return sums

    before, after = per_resource(base), per_resource(head)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        name, type_token, old = before[key] if key in before else (*after[key][:2], 0.0)
        name, type_token, new = after.get(key, (name, type_token, 0.0))
        kind = "+" if key not in before else "-" if key not in after else "~"
        if kind == "~" and round(old, 2) == round(new, 2):
            continue
        changes.append(Change(key[0], name, type_token, kind, round(old, 2), round(new, 2)))
    return changes
