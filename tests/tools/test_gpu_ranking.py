"""Issue 26, item 2: the GPU NodePools' weights follow the cost estimator's $ per image,
from the same data (tools/cost's throughput and price tables, through the generated
infra/gpu_ranking.json)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from infra.gpu_ranking import FALLBACK_WEIGHT, measured_order, weighted_pools
from tests.support.stacks import run_stack
from tools.cost import gpu, prices, usage
from tools.cost.__main__ import preview_document
from tools.cost.estimate import estimate
from tools.generate import gpu_ranking

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"


@pytest.fixture
def faster_a10g(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The throughput table with a (made-up) fast A10G figure for SD1.5."""
    document = yaml.safe_load(gpu.THROUGHPUT.read_text())
    for row in document["rows"]:
        if (row["gpu"], row["model"], row["setting"], row["batch"]) == (
            "A10G",
            "sd15",
            "fp16-sdpa",
            1,
        ):
            row["iterationsPerSecond"] = 30.0
    table = tmp_path / "gpu_throughput.yaml"
    table.write_text(yaml.safe_dump(document))
    monkeypatch.setattr(gpu, "THROUGHPUT", table)
    gpu.table.cache_clear()
    yield
    gpu.table.cache_clear()


def test_the_committed_ranking_is_the_estimators() -> None:
    assert gpu_ranking.main(["--check"]) == 0


def test_a_changed_throughput_table_changes_the_order(faster_a10g: None) -> None:
    measured = [row["instanceType"] for row in gpu_ranking.ranking()["measured"]]
    assert measured[0] == "g5.xlarge"
    assert measured != list(measured_order())
    assert gpu_ranking.main(["--check"]) == 1  # the committed file is now stale
    pools = weighted_pools(["g4dn.xlarge", "g4dn.2xlarge", "g5.xlarge"], tuple(measured))
    assert pools[0].instance_types == ["g5.xlarge"]
    assert [pool.weight for pool in pools] == sorted((p.weight for p in pools), reverse=True)


def test_the_order_is_cheapest_per_image_first() -> None:
    rows = gpu_ranking.ranking()["measured"]
    costs = [row["spotPer1000Images"] for row in rows]
    assert costs == sorted(costs)
    assert len(rows) >= 2  # T4 in two sizes: the control has an order to keep


def test_the_platforms_gpu_pools_follow_the_ranking() -> None:
    shared = run_stack("shared")
    gpu_pools = [
        p.inputs
        for p in shared.of_type(NODE_POOL)
        if "nvidia.com/gpu" in p.inputs["spec"]["limits"]
        and "pingvas.io/preview" not in p.inputs["spec"]["template"]["metadata"]["labels"]
    ]
    by_weight = sorted(gpu_pools, key=lambda p: -p["spec"]["weight"])
    types = [
        next(
            r["values"]
            for r in p["spec"]["template"]["spec"]["requirements"]
            if r["key"] == "node.kubernetes.io/instance-type"
        )
        for p in by_weight
    ]
    measured = [t for t in measured_order() if t in ("g4dn.xlarge", "g4dn.2xlarge", "g5.xlarge")]
    assert [t[0] for t in types[: len(measured)]] == measured
    # SPEC's A10G has no figure yet: the lowest-weight fallback, never first.
    assert types[-1] == ["g5.xlarge"]
    assert by_weight[-1]["spec"]["weight"] == FALLBACK_WEIGHT
    assert len({p["spec"]["weight"] for p in gpu_pools}) == len(gpu_pools)


def test_the_estimator_prices_the_first_pool_and_only_it() -> None:
    shared = preview_document("shared")
    result = estimate([shared], usage.load(), prices.load(), preview_document)
    gpu_lines = [line for line in result.lines if line.item.startswith("GPU ")]
    assert {line.resource.split("-karpenter-")[1] for line in gpu_lines} == {
        f"gpu-{measured_order()[0].replace('.', '-')}-pool"
    }
