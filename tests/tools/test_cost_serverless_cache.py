"""The ElastiCache Serverless (Valkey) pricing rule (decision 0117): data stored at the
100 MB minimum or the usage's size, ECPUs from the environment's image volume, bounded by
the cache's usage limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools.cost import prices, usage
from tools.cost.__main__ import preview_document
from tools.cost.estimate import Estimate, estimate
from tools.cost.levers import NODE_CACHES, documents

CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
HOURS = 730
STORAGE, ECPU = 0.084, 0.0023  # the table's valkey-serverless-* prices


def price_of(docs: list[dict[str, Any]], usage_file: Path | None = None) -> Estimate:
    return estimate(docs, usage.load(usage_file), prices.load(), preview_document)


@pytest.fixture(scope="module")
def serverless() -> list[dict[str, Any]]:
    """The committed defaults: dev and prod run serverless caches."""
    return documents({})


def cache_lines(result: Estimate, stack: str) -> dict[str, float]:
    lines = [line for line in result.lines if line.stack == stack and line.type == CACHE]
    return {line.item.split(" (")[0]: line.monthly for line in lines}


def test_serverless_caches_are_priced_at_the_minimum_and_the_stated_volume(
    serverless: list[dict[str, Any]],
) -> None:
    result = price_of(serverless)
    assert not [u for u in result.unpriced if u.type == CACHE]
    storage = round(0.1 * STORAGE * HOURS, 2)  # 0.01 GB stored: the 100 MB minimum
    # prod: 520,000 images x 50 ECPUs + 20 M in the background; dev: the background only.
    assert cache_lines(result, "prod") == {
        "Serverless Valkey data stored": storage,
        "Serverless Valkey ECPUs": round(46 * ECPU, 2),
    }
    assert cache_lines(result, "dev") == {
        "Serverless Valkey data stored": storage,
        "Serverless Valkey ECPUs": round(20 * ECPU, 2),
    }
    # Node-based caches gone with them: no replication group is priced.
    assert not [line for line in result.lines if "ReplicationGroup" in line.type]


def test_serverless_usage_is_bounded_by_the_caches_limits(
    tmp_path: Path, serverless: list[dict[str, Any]]
) -> None:
    """Attack: a usage file asking for 50 GB and 100 billion images prices no more than
    the cache's limits (1 GB, 5,000 ECPUs a second) allow."""
    usage_file = tmp_path / "usage.yaml"
    usage_file.write_text(
        "platform:\n  images:\n    - {model: sd15, size: 512, steps: 30, perMonth: 1.0e11}\n"
        "environments:\n  prod:\n    cacheDataGb: 50\n"
    )
    result = price_of(serverless, usage_file)
    (stored,) = [
        line
        for line in result.lines
        if line.stack == "prod" and line.type == CACHE and "stored" in line.item
    ]
    assert stored.quantity == 1
    assert "(usage asks 50; bounded)" in stored.assumption
    (ecpus,) = [
        line
        for line in result.lines
        if line.stack == "prod" and line.type == CACHE and "ECPUs" in line.item
    ]
    cap = round(5_000 * HOURS * 3600 / 1e6 * ECPU, 2)
    assert (ecpus.monthly, ecpus.bounds) == (cap, (0.0, cap))
    assert "bounded" in ecpus.assumption
    # The decision's runaway bound: ≈ $61 of data and ≈ $30 of ECPUs a month at most.
    assert (stored.monthly, cap) == (round(STORAGE * HOURS, 2), 30.22)


def test_node_based_caches_are_priced_as_nodes_instead() -> None:
    """Control: the levers' node-based step prices replication groups and no serverless
    cache, so the lever's saving compares two real configurations."""
    result = price_of(documents(NODE_CACHES))
    assert not cache_lines(result, "prod")
    assert [line for line in result.lines if line.type.endswith("ReplicationGroup")]
