"""The estimate as text: a table per stack, subtotals, the total, what is free or not
priced, the per-day cost of ephemeral stacks, GPU cost per 1,000 images, and a diff."""

from __future__ import annotations

import textwrap
from collections import Counter

from tools.cost.estimate import ACCOUNT, Change, Estimate
from tools.cost.lines import Line
from tools.cost.prices import HOURS_PER_MONTH


def money(amount: float) -> str:
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


WIDTH = 100  # a terminal's columns: every line of the report fits
DIFF_LINES = 60  # the largest changes; --json lists every one


def _line(line: Line) -> str:
    """A charge on one line of figures, then what is charged and why, wrapped below it."""
    units = f"{line.units:g} h" if line.units != 1 else "month"
    figures = (
        f"  {line.service:<12.12} {line.resource:<42.42} {line.quantity:>10.2f} {units:>8} "
        f"{money(line.monthly):>11}"
    )
    # The bounds first, where wrapping cannot split them.
    bounds = f"[min {money(line.bounds[0])}, max {money(line.bounds[1])}] " if line.bounds else ""
    why = f"{bounds}{line.item} at ${line.unit_price:g}/{line.price_unit}; {line.assumption}"
    return "\n".join(
        [figures, *textwrap.wrap(why, WIDTH, initial_indent=" " * 6, subsequent_indent=" " * 8)]
    )


def _fit(line: str) -> str:
    """A line wider than WIDTH, wrapped under its own indent."""
    if len(line) <= WIDTH:
        return line
    indent = " " * (len(line) - len(line.lstrip()) + 4)
    return "\n".join(textwrap.wrap(line, WIDTH, subsequent_indent=indent))


def as_text(result: Estimate) -> str:
    out = [f"Monthly cost estimate, USD, {HOURS_PER_MONTH}-hour month (us-east-1 price table)"]
    header = (
        f"  {'service':<12} {'resource':<42} {'quantity':>10} {'units':>8} {'monthly':>11}\n"
        "      item at unit price; assumption"
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
    return "\n".join(_fit(line) for line in "\n".join(out).splitlines())


def diff_as_text(changes: list[Change], base: Estimate, head: Estimate) -> str:
    out = ["Monthly cost change, USD (largest first):"]
    largest = sorted(changes, key=lambda change: -abs(change.delta))
    for change in largest[:DIFF_LINES]:
        label = f"{change.resource} ({change.type.rsplit(':', 1)[-1]})"
        sign = "+" if change.delta >= 0 else ""
        out.append(
            f"  {change.kind} {change.stack}: {label:<50.50} {money(change.before):>10} -> "
            f"{money(change.after):>10} ({sign}{money(change.delta)})"
        )
    if len(changes) > DIFF_LINES:
        out.append(f"  … {len(changes) - DIFF_LINES} smaller changes (--json lists every one)")
    if not changes:
        out.append("  no change")
    delta = round(head.total - base.total, 2)
    sign = "+" if delta >= 0 else ""
    out.append(f"total: {money(base.total)} -> {money(head.total)} ({sign}{money(delta)})")
    return "\n".join(out)
