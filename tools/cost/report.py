"""The estimate as text: a table per stack, subtotals, the total, what is free or not
priced, the per-day cost of ephemeral stacks, GPU cost per 1,000 images, and a diff."""

from __future__ import annotations

from collections import Counter

from tools.cost.estimate import ACCOUNT, Change, Estimate
from tools.cost.lines import Line
from tools.cost.prices import HOURS_PER_MONTH


def money(amount: float) -> str:
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def _line(line: Line) -> str:
    bounds = f"  [min {money(line.bounds[0])}, max {money(line.bounds[1])}]" if line.bounds else ""
    units = f"{line.units:g} h" if line.units != 1 else "month"
    return (
        f"  {line.service:<15} {line.resource:<40.40} {line.item:<58.58} "
        f"{line.quantity:>10.2f} x ${line.unit_price:<8g}/{line.price_unit:<16.16} {units:>6} "
        f"{money(line.monthly):>11}  {line.assumption}{bounds}"
    )


def as_text(result: Estimate) -> str:
    out = [f"Monthly cost estimate, USD, {HOURS_PER_MONTH}-hour month (us-east-1 price table)"]
    header = (
        f"  {'service':<15} {'resource':<40} {'item':<58} {'quantity':>10}   "
        f"{'unit price':<26} {'units':>6} {'monthly':>11}  assumption"
    )
    subtotals = result.by_stack()
    for stack in subtotals:
        out += ["", f"{stack}:" if stack != ACCOUNT else "account-wide:", header]
        out += [_line(line) for line in result.lines if line.stack == stack]
        out.append(f"  subtotal {stack}: {money(subtotals[stack])}")
    out += ["", "by service:"]
    services = result.by_service()
    out += [f"  {service:<18} {money(amount):>11}" for service, amount in services.items()]
    out += ["", f"total: {money(result.total)} a month"]
    not_priced = result.not_priced
    # What has no price is unknown, not zero: the headline says how many such resources.
    out.append(
        "not priced: $0.00"
        if not not_priced
        else f"not priced: {len(not_priced)} resources, amount unknown (listed below)"
    )
    if not_priced:
        out += ["", "not priced (no price in the table; not counted in the total):"]
        out += [f"  {e.stack}: {e.type} {e.resource}: {e.reason}" for e in not_priced]
    elsewhere = [entry for entry in result.unpriced if entry.status == "elsewhere"]
    if elsewhere:
        out += ["", "priced on another line:"]
        out += [f"  {e.stack}: {e.type} {e.resource}: {e.reason}" for e in elsewhere]
    free = Counter((e.type, e.reason) for e in result.unpriced if e.status == "free")
    if free:
        out += ["", "free:"]
        for (type_token, reason), count in sorted(free.items()):
            out.append(f"  {count:4d}  {type_token}: {reason}")
    for stack in result.ephemeral_stacks():
        dominant = ", ".join(
            f"{service} {money(amount * 24 / HOURS_PER_MONTH)}"
            for service, amount in result.dominant(stack)
        )
        per_day = money(result.per_day(stack))
        out += ["", f"{stack}: {per_day} a day at zero traffic; most: {dominant}"]
    if result.gpu_image_costs:
        out += [
            "",
            "GPU cost per 1,000 images (the usage's images and setting; Spot raw, effective):",
        ]
        for cost in result.gpu_image_costs:
            if cost.seconds_per_image is None:
                out.append(f"  {cost.instance_type:<14} {cost.gpu:<5} unmeasured ({cost.source})")
                continue
            out.append(
                f"  {cost.instance_type:<14} {cost.gpu:<5} {cost.seconds_per_image:.2f} s/image  "
                f"raw spot {money(cost.raw_spot_per_1000 or 0)}  "
                f"on-demand {money(cost.raw_on_demand_per_1000 or 0)}  "
                f"effective {money(cost.effective_per_1000 or 0)} ({cost.node_hours:,.0f} h)  "
                f"({cost.source})"
            )
    return "\n".join(out)


def diff_as_text(changes: list[Change], base: Estimate, head: Estimate) -> str:
    out = ["Monthly cost change, USD:"]
    for change in changes:
        out.append(
            f"  {change.kind} {change.stack}: {change.resource} ({change.type}) "
            f"{money(change.before)} -> {money(change.after)} ({'+' if change.delta >= 0 else ''}"
            f"{money(change.delta)})"
        )
    if not changes:
        out.append("  no change")
    delta = round(head.total - base.total, 2)
    sign = "+" if delta >= 0 else ""
    out.append(f"total: {money(base.total)} -> {money(head.total)} ({sign}{money(delta)})")
    return "\n".join(out)
