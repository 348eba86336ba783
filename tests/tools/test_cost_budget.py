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
from tools.cost.report import money

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def defaults() -> Estimate:
    documents = [preview_document(stack) for stack in ("shared", "dev", "prod")]
    return estimate(documents, usage.load(), prices.load(), preview_document)


def test_defaults_fit_the_monthly_budget_the_platform_sets(defaults: Estimate) -> None:
    # The AWS Budget's limit (pingvas:operations.monthlyBudgetUsd) is the plan: a default
    # that costs more at SPEC's usage fails here, not in the first month's alerts.
    assert defaults.total <= OperationsConfig().monthly_budget_usd, defaults.by_service()


def test_docs_state_the_current_total(defaults: Estimate) -> None:
    assert f"**{money(defaults.total)}**" in (REPO / "docs" / "cost.md").read_text()


def test_cheaper_defaults_keep_spec_availability() -> None:
    shared, prod = preview_document("shared"), preview_document("prod")
    # prod's cache: ElastiCache Serverless, which keeps the data in three zones itself
    # (decision 0117), reachable from every private subnet, so from every zone.
    (cache,) = [
        r["inputs"]
        for r in prod["resources"]
        if r["type"].startswith("aws:elasticache/")
        and r["type"].endswith(("ServerlessCache", "ReplicationGroup"))
    ]
    assert cache["subnetIds"] == shared["outputs"]["privateSubnetIds"]
    assert len(cache["subnetIds"]) == len(shared["outputs"]["availabilityZones"]) >= 3
    instances = [r["inputs"] for r in shared["resources"] if r["type"].endswith("ClusterInstance")]
    assert len({instance["availabilityZone"] for instance in instances}) >= 2  # Multi-AZ reader
    gpu_pool = next(
        r["inputs"]["spec"]
        for r in shared["resources"]
        if r["type"] == "kubernetes:karpenter.sh/v1:NodePool"
        and r["name"].endswith("gpu-g4dn-xlarge-pool")
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


def test_docs_quote_the_levers_as_measured(
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
    taken = [decision for _, _, _, decision, _ in levers.TAKEN[1:]]
    assert None not in taken  # each lever the defaults take past SPEC names its record
    for number in taken:
        (record,) = decisions.glob(f"{number}-*.md")
        assert f"decisions/{record.name}" in cost, record.name
        assert f"({record.name})" in index, record.name
