"""The vendored CRDs are the upstream files their README names, byte for byte, at the
releases the platform installs."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from components import chart_versions
from tools.generate import crds

ROOT = Path(__file__).resolve().parents[2]


RECORDED = crds.recorded()


@pytest.mark.parametrize("vendored", RECORDED, ids=lambda v: f"{v.directory}/{v.name}")
def test_each_file_is_the_blob_its_readme_records(vendored: Any) -> None:
    blob = subprocess.run(
        ["git", "hash-object", str(vendored.local)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert blob.startswith(vendored.blob)
    assert vendored.local.stat().st_size == vendored.size


def test_every_vendored_file_is_recorded() -> None:
    on_disk = {p.relative_to(ROOT / "vendor/crds") for p in (ROOT / "vendor/crds").rglob("*.yaml")}
    assert on_disk == {Path(v.directory) / v.name for v in RECORDED}
    assert len(RECORDED) == 16


def test_the_check_notices_a_changed_byte(tmp_path: Path) -> None:
    vendored = RECORDED[0]
    data = bytearray(vendored.local.read_bytes())
    assert crds.problems(vendored, bytes(data)) == []
    data[100] ^= 1
    assert crds.problems(vendored, bytes(data))[0].startswith("blob ")


@pytest.mark.parametrize(
    ("directory", "chart"),
    [
        ("karpenter", chart_versions.KARPENTER),
        ("keda", chart_versions.KEDA),
        ("aws-load-balancer-controller", chart_versions.AWS_LOAD_BALANCER_CONTROLLER),
        ("external-secrets", chart_versions.EXTERNAL_SECRETS),
    ],
)
def test_crds_come_from_the_release_the_platform_installs(
    directory: str, chart: chart_versions.Chart
) -> None:
    (tag,) = {v.tag for v in RECORDED if v.directory == directory}
    assert tag == f"v{chart.version}"
