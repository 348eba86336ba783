"""What the defaults cost at SPEC §8's usage, and that the cheaper defaults keep SPEC's
availability (docs/cost.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.config import OperationsConfig
from tools.cost import levers, prices, usage
from tools.cost.__main__ import preview_document
from tools.cost.estimate import Estimate, estimate
from tools.cost.floor import floor
from tools.cost.report import money

REPO = Path(__file__).resolve().parents[2]
# Issue 16's target for shared + dev + prod at SPEC §8's usage. Out of reach: the floor
# below shows why (docs/decisions/0105-the-999-target.md).
ISSUE_TARGET = 999.00


@pytest.fixture(scope="module")
def defaults() -> Estimate:
    documents = [preview_document(stack) for stack in ("shared", "dev", "prod")]
    return estimate(documents, usage.load(), prices.load(), preview_document)


def test_defaults_fit_the_monthly_budget_the_platform_sets(defaults: Estimate) -> None:
    # The AWS Budget's limit (pingvas:operations.monthlyBudgetUsd) is the plan: a default
    # that costs more at SPEC's usage fails here, not in the first month's alerts.
    assert defaults.total <= OperationsConfig().monthly_budget_usd, defaults.by_service()


def test_no_configuration_that_keeps_availability_and_isolation_reaches_999(
    defaults: Estimate,
) -> None:
    least = floor(defaults, prices.load())
    assert least.total <= defaults.total
    assert all(cut.after <= cut.before for cut in least.cuts)
    # Even with every discretionary line at its least and a 1-year Database Savings Plan
    # on the ACUs. When prices or usage move this under the target, revisit the defaults.
    assert least.savings_plan == pytest.approx(0.35 * 2 * 0.12 * 730, abs=0.01)
    assert least.total - least.savings_plan > ISSUE_TARGET


def test_the_floor_keeps_what_usage_and_availability_fix(defaults: Estimate) -> None:
    least = floor(defaults, prices.load())
    cut = sum(c.before - c.after for c in least.cuts)
    # GPU node-hours, Aurora's two instances, the NAT and EKS are never lowered.
    gpu = sum(line.monthly for line in defaults.lines if line.item.startswith("GPU "))
    acus = sum(line.monthly for line in defaults.lines if "ACU-hours" in line.item)
    assert gpu == pytest.approx(3 * 0.2039 * 730, abs=0.01)
    assert acus == pytest.approx(2 * 0.12 * 730, abs=0.01)
    assert least.total == pytest.approx(defaults.total - cut, abs=0.01)
    assert {c.what for c in least.cuts} == {
        "API pods on the general pool (dev, prod)",
        "dev's cache",
        "prod's cache",
        "system nodes",
    }
    prod_cache = next(c for c in least.cuts if c.what == "prod's cache")
    assert prod_cache.after == pytest.approx(2 * 0.0256 * 730, abs=0.01)  # 2 x t4g.small
    after = {c.what: c.after for c in least.cuts}
    # Two system nodes of the cheapest Spot type (t4g.medium at 45 % of $0.0336), 20 GB roots.
    assert after["system nodes"] == pytest.approx(2 * (0.0336 * 0.45 * 730 + 20 * 0.08), abs=0.02)
    assert after["dev's cache"] == after["API pods on the general pool (dev, prod)"] == 0
    # What the cuts started from is what the defaults pay for those lines.
    api = sum(
        line.monthly
        for line in defaults.lines
        if line.stack in ("dev", "prod") and line.resource.endswith("-app")
    )
    before = {c.what: c.before for c in least.cuts}
    assert before["API pods on the general pool (dev, prod)"] == pytest.approx(api, abs=0.01)


def test_docs_state_the_current_total(defaults: Estimate) -> None:
    assert f"**{money(defaults.total)}**" in (REPO / "docs" / "cost.md").read_text()


def test_cheaper_defaults_keep_spec_availability() -> None:
    shared, prod = preview_document("shared"), preview_document("prod")
    cache = next(
        r["inputs"]
        for r in prod["resources"]
        if r["type"] == "aws:elasticache/replicationGroup:ReplicationGroup"
    )
    assert cache["automaticFailoverEnabled"] is True
    assert cache["multiAzEnabled"] is True
    assert cache["numCacheClusters"] >= 2
    assert len(set(cache["preferredCacheClusterAzs"])) == cache["numCacheClusters"]
    instances = [r["inputs"] for r in shared["resources"] if r["type"].endswith("ClusterInstance")]
    assert len({instance["availabilityZone"] for instance in instances}) >= 2  # Multi-AZ reader
    gpu_pool = next(
        r["inputs"]["spec"]
        for r in shared["resources"]
        if r["type"] == "kubernetes:karpenter.sh/v1:NodePool" and r["name"].endswith("gpu-pool")
    )
    capacity = next(
        q["values"]
        for q in gpu_pool["template"]["spec"]["requirements"]
        if q["key"] == "karpenter.sh/capacity-type"
    )
    assert capacity == ["spot", "on-demand"]  # Spot first, on-demand when none is offered
    services = prod["outputs"]["settings"]["services"]
    zones = len(shared["outputs"]["availabilityZones"])
    assert services["autoscaling"] is True
    assert services["replicas"] >= zones  # one replica of each service per zone at least


def test_docs_quote_the_levers_and_the_floor_as_measured(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert levers.main() == 0
    measured = re.findall(r"\$[\d,]+\.\d\d", capsys.readouterr().out)
    quoted = (REPO / "docs" / "cost.md").read_text()
    stale = sorted({figure for figure in measured if figure not in quoted})
    assert not stale, f"docs/cost.md does not quote: {stale} (python -m tools.cost.levers)"


def test_every_departure_from_spec_has_a_decision_record_that_cost_md_links() -> None:
    decisions = REPO / "docs" / "decisions"
    cost = (REPO / "docs" / "cost.md").read_text()
    index = (decisions / "README.md").read_text()
    taken = [decision for _, _, _, decision in levers.TAKEN[1:]]
    assert None not in taken  # each lever the defaults take past SPEC names its record
    for number in taken:
        (record,) = decisions.glob(f"{number}-*.md")
        assert f"decisions/{record.name}" in cost, record.name
        assert f"({record.name})" in index, record.name
