"""The Aurora reader is priced at the capacity its promotion tier gives it (issue 26, item
5; decision 0113): in tier 0-1 it holds the writer's capacity, in tier 2-15 it scales on
its own load, down to the cluster's minimum. The tier is read from the stack's preview."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tools.cost import prices, usage
from tools.cost.__main__ import preview_document
from tools.cost.estimate import Estimate, estimate

INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
READER, WRITER = "pingvas-shared-aurora-reader-1", "pingvas-shared-aurora-writer"


@pytest.fixture(scope="module")
def shared() -> dict[str, Any]:
    return preview_document("shared")


def with_reader_tier(document: dict[str, Any], tier: int | None) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    for resource in changed["resources"]:
        if resource["type"] == INSTANCE and resource["name"] == READER:
            if tier is None:
                resource["inputs"].pop("promotionTier", None)
            else:
                resource["inputs"]["promotionTier"] = tier
    return changed


def priced(document: dict[str, Any], tmp_path: Path, writer: float, reader: float) -> Estimate:
    usage_file = tmp_path / "usage.yaml"
    usage_file.write_text(
        f"platform:\n  auroraAcuAverage: {writer}\n  auroraReaderAcuAverage: {reader}\n"
    )
    return estimate([document], usage.load(usage_file), prices.load(), preview_document)


def acus(result: Estimate, name: str) -> float:
    (line,) = [x for x in result.lines if x.resource == name and x.item.endswith("ACU-hours")]
    return line.quantity


def test_the_stacks_reader_is_in_tier_2_and_priced_at_its_own_load(
    shared: dict[str, Any], tmp_path: Path
) -> None:
    (reader,) = [r for r in shared["resources"] if r["name"] == READER]
    assert reader["inputs"]["promotionTier"] == 2
    result = priced(shared, tmp_path, writer=3, reader=1.5)
    assert (acus(result, WRITER), acus(result, READER)) == (3, 1.5)
    # At zero traffic it scales down to the cluster's minimum, not to the writer's.
    idle = priced(shared, tmp_path, writer=3, reader=0)
    assert acus(idle, READER) == 0.5


@pytest.mark.parametrize("tier", [0, 1, None])  # None: RDS's default tier, 1
def test_a_reader_in_tier_0_or_1_is_priced_at_the_writers_capacity(
    shared: dict[str, Any], tmp_path: Path, tier: int | None
) -> None:
    result = priced(with_reader_tier(shared, tier), tmp_path, writer=3, reader=0)
    assert acus(result, READER) == acus(result, WRITER) == 3
    (line,) = [x for x in result.lines if x.resource == READER and x.item.endswith("ACU-hours")]
    assert "the writer's load" in line.assumption


def test_tier_2_to_15_scales_on_its_own_load(shared: dict[str, Any], tmp_path: Path) -> None:
    for tier in (2, 15):
        result = priced(with_reader_tier(shared, tier), tmp_path, writer=3, reader=0)
        assert acus(result, READER) == 0.5


def test_guardduty_meters_the_acus_the_instances_are_priced_at(
    shared: dict[str, Any], tmp_path: Path
) -> None:
    result = priced(shared, tmp_path, writer=3, reader=1)
    (line,) = [x for x in result.lines if x.item == "RDS login activity (ACU-hours)"]
    assert line.quantity == acus(result, WRITER) + acus(result, READER) == 4
