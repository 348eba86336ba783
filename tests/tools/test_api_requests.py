"""The API's requests follow what benchmarks/api_resources.py measured (decision 0112):
every profile's memory request holds the measured peak resident memory with headroom, and
a pod reaches the HPA's CPU target only above the SPEC-implied load. The benchmark's own
probes read this process's /proc entries."""

from __future__ import annotations

import os
import re
from pathlib import Path

from benchmarks import api_resources

REPO = Path(__file__).resolve().parents[2]
RECORD = REPO / "docs" / "decisions" / "0112-api-requests-from-measurements.md"
HEADROOM = 1.5
# docs/cost.md: 0.2 images/s; ~10 requests an image over all services and replicas.
SPEC_IMPLIED_REQUESTS_PER_SECOND = 2.0


def measured() -> tuple[float, float]:
    """The worst CPU ms a request and the highest peak RSS (MiB) the record gives."""
    rows = re.findall(
        r"^\| (\w+) \| ([\d.]+) \| [\d.]+ \| (\d+) MiB \|", RECORD.read_text(), re.MULTILINE
    )
    services = [(float(cpu), float(rss)) for name, cpu, rss in rows if name != "bare"]
    assert len(services) == len(api_resources.MIX)
    return max(cpu for cpu, _ in services), max(rss for _, rss in services)


def short_of(cpu: float, memory: float, target: int) -> list[str]:
    """What a request (cores, MiB, HPA target %) lacks against the measurement."""
    cpu_ms, peak = measured()
    problems = []
    if memory < peak * HEADROOM:
        problems.append(f"{memory:g}Mi < {HEADROOM} x {peak:g} MiB peak")
    if cpu * target / 100 / (cpu_ms / 1000) < 4 * SPEC_IMPLIED_REQUESTS_PER_SECOND:
        problems.append(f"{cpu:g} cores reach the HPA target below 4x the SPEC-implied load")
    return problems


def test_every_profiles_requests_hold_the_measurement() -> None:
    requests = api_resources.chart_requests()
    for name in ("values.yaml", "values-dev.yaml", "values-prod.yaml"):
        assert short_of(*requests[name]) == [], name
    # Previews see no load; their memory request still covers the resident peak.
    assert requests["values-ephemeral.yaml"][1] >= measured()[1]


def test_requests_below_the_measurement_fail() -> None:
    assert len(short_of(0.02, 128, 70)) == 2  # the bad case: under both
    assert len(short_of(0.1, 128, 70)) == 1
    assert short_of(0.1, 224, 70) == []


def test_the_probes_read_this_process() -> None:
    before = api_resources.cpu_seconds(os.getpid())
    sum(i * i for i in range(2_000_000))  # spend some CPU
    assert api_resources.cpu_seconds(os.getpid()) > before
    assert 10 < api_resources.peak_rss_mib(os.getpid()) < 100_000


def test_the_mix_is_interleaved_by_weight() -> None:
    order = api_resources.schedule(api_resources.MIX["generation"])
    assert len(order) == 10
    assert sum(1 for method, _, _ in order if method == "POST") == 1
    assert order[0][0] != order[1][0] or order[0][1] != order[1][1]
