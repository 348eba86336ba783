"""The three Grafana dashboards of SPEC §7 query only metrics that exist: the app's (read
from its prometheus_client registry), DCGM's, KEDA's, kube-state-metrics', node exporter's
and Karpenter's; CloudWatch panels only documented metrics. The alert rules too."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import prometheus_client
import pytest
import yaml

import app.core.metrics
import app.worker.metrics  # noqa: F401 (registers the worker's metrics)
from components.operations.alert_rules import ALERTS
from components.operations.monitoring import DASHBOARDS

EXPORTED = yaml.safe_load((Path(__file__).with_name("exported_metrics.yaml")).read_text())
# PromQL words that look like metric names.
PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "rate", "increase", "histogram_quantile", "by",
    "without", "on", "ignoring", "and", "or", "unless", "offset", "le",
}  # fmt: skip
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}


def app_metric_names() -> set[str]:
    names = set()
    for family in prometheus_client.REGISTRY.collect():
        for suffix in SUFFIXES.get(family.type, [""]):
            names.add(family.name + suffix)
    return names


KNOWN = app_metric_names() | {
    name for source, names in EXPORTED.items() if source != "cloudwatch" for name in names
}


def metric_names(expr: str) -> set[str]:
    without_labels = re.sub(
        r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"|\b(by|without|on|ignoring)\s*\([^)]*\)|\b\d+(ms|[smhdwy])\b",
        " ",
        expr,
    )
    words = re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", without_labels)
    return {w for w in words if w not in PROMQL_WORDS}


def dashboards() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(DASHBOARDS.glob("*.json"))}


def test_the_three_spec_dashboards_exist() -> None:
    titles = {name: board["title"] for name, board in dashboards().items()}
    assert titles == {
        "business": "Pingvas / Business",
        "generation": "Pingvas / Generation",
        "infrastructure": "Pingvas / Infrastructure",
    }


def test_app_exports_the_spec_metrics() -> None:
    """SPEC §7's application metrics, and the Business dashboard's active users."""
    assert {
        "generation_requests_total",
        "generation_duration_seconds_bucket",
        "queue_length",
        "credits_consumed_total",
        "active_users",
    } <= app_metric_names()


@pytest.mark.parametrize("name", ["generation", "infrastructure", "business"])
def test_every_panel_queries_exported_metrics(name: str) -> None:
    board = dashboards()[name]
    queried = set()
    for panel in board["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            if panel["datasource"]["type"] == "cloudwatch":
                allowed = EXPORTED["cloudwatch"][target["namespace"]]
                assert target["metricName"] in allowed, panel["title"]
                continue
            names = metric_names(target["expr"])
            assert names, (panel["title"], target["expr"])
            assert names <= KNOWN, (panel["title"], names - KNOWN)
            queried |= names
    spec = {
        "generation": {"generation_requests_total", "queue_length", "DCGM_FI_DEV_GPU_UTIL"},
        "infrastructure": {"kube_node_status_condition", "kube_pod_status_phase"},
        "business": {"credits_consumed_total", "active_users"},
    }
    assert spec[name] <= queried


def test_the_infrastructure_board_shows_what_only_cloudwatch_sees() -> None:
    """Redis hit rate, evictions and the burstable nodes' CPU credits (decision 0100), the
    load balancer's requests and 5xx, S3."""
    shown = {
        (target["namespace"], target["metricName"])
        for panel in dashboards()["infrastructure"]["panels"]
        if panel["datasource"]["type"] == "cloudwatch"
        for target in panel["targets"]
    }
    assert shown >= {
        ("AWS/ElastiCache", "CacheHitRate"),
        ("AWS/ElastiCache", "Evictions"),
        ("AWS/ElastiCache", "CPUCreditBalance"),
        ("AWS/ApplicationELB", "RequestCount"),
        ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
        ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
        ("AWS/S3", "BucketSizeBytes"),
    }


def test_panels_do_not_overlap() -> None:
    for name, board in dashboards().items():
        cells: set[tuple[int, int]] = set()
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24, (name, panel["title"])
            area = {
                (x, y)
                for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])
            }
            assert not cells & area, (name, panel["title"])
            cells |= area


@pytest.mark.parametrize("alert", ALERTS, ids=lambda alert: alert.name)
def test_alert_rules_query_exported_metrics(alert: Any) -> None:
    assert metric_names(alert.expr) <= KNOWN


def test_the_name_check_catches_a_typo() -> None:
    assert metric_names('sum(rate(generation_request_total{tier="pro"}[5m]))') - KNOWN == {
        "generation_request_total"
    }


def test_the_pictures_are_drawn_from_the_dashboards(tmp_path: Path) -> None:
    from PIL import Image

    from tools.generate import dashboards as pictures

    written = pictures.main(tmp_path)
    assert [p.name for p in written] == ["business.png", "generation.png", "infrastructure.png"]
    for picture in written:
        with Image.open(picture) as image:
            assert image.width == 24 * 50 + 12  # 24 Grafana columns
            rows = max(
                p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboards()[picture.stem]["panels"]
            )
            assert image.height == rows * 30 + 40
