"""What the defaults cost at SPEC §8's usage, and that the cheaper defaults keep SPEC's
availability (docs/cost.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cost import prices, usage
from infra.cost.__main__ import preview_document
from infra.cost.estimate import Estimate, estimate
from infra.cost.report import money

REPO = Path(__file__).resolve().parents[2]
# SPEC §8's claimed monthly total, for SPEC's configuration at SPEC's (720-hour, too low)
# prices. The defaults, priced honestly and with the lines SPEC left out, must not cost
# more. Issue 16's $999 is out of reach at SPEC's usage: docs/cost.md shows why.
SPEC_CLAIMED_TOTAL = 1_249.37


@pytest.fixture(scope="module")
def defaults() -> Estimate:
    documents = [preview_document(stack) for stack in ("shared", "dev", "prod")]
    return estimate(documents, usage.load(), prices.load(), preview_document)


def test_defaults_cost_no_more_than_spec_claimed(defaults: Estimate) -> None:
    assert defaults.total <= SPEC_CLAIMED_TOTAL, defaults.by_service()


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
