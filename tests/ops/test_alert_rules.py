"""SPEC §7's alert table: every Prometheus rule unit-tested by `promtool test rules`, with a
series that fires it and one that does not; every row of the table present with its
threshold, `for` and severity."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.operations.alert_rules import ALERTS, Alert, prometheus_rule_groups
from components.operations.cloudwatch_alarms import (
    AURORA_CPU,
    REDIS_REPLICATION_LAG,
    CloudWatchAlert,
)

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: run scripts/install-system-deps.sh"
)
WEEK_OF_10M = 7 * 24 * 6  # samples of a 10-minute series over one week


@dataclass(frozen=True)
class Case:
    """Input series (`interval` apart) and the alert's labels at `eval_time` when it fires."""

    fires: list[tuple[str, str]]
    quiet: list[tuple[str, str]]
    eval_time: str
    labels: dict[str, str]
    interval: str = "1m"


PROD = 'namespace="prod"'
DEV_PODS = 'kube_resourcequota{namespace="dev", resourcequota="dev", resource="pods"'
CASES: dict[str, Case] = {
    "ApiErrorRateHigh": Case(
        fires=[
            (f'http_requests_total{{{PROD}, method="GET", route="/x", status="500"}}', "0+6x20"),
            (f'http_requests_total{{{PROD}, method="GET", route="/x", status="200"}}', "0+100x20"),
        ],
        quiet=[
            (f'http_requests_total{{{PROD}, method="GET", route="/x", status="500"}}', "0+4x20"),
            (f'http_requests_total{{{PROD}, method="GET", route="/x", status="200"}}', "0+100x20"),
        ],
        eval_time="10m",
        labels={"namespace": "prod"},
    ),
    "GpuNodeSpotInterrupted": Case(
        fires=[
            (
                'karpenter_nodeclaims_disrupted_total{nodepool="gpu", reason="spot_interrupted",'
                ' capacity_type="spot"}',
                "0 0 0 1 1 1",
            )
        ],
        quiet=[
            (
                'karpenter_nodeclaims_disrupted_total{nodepool="default",'
                ' reason="spot_interrupted", capacity_type="spot"}',
                "0 0 0 1 1 1",
            )
        ],
        eval_time="4m",
        labels={"nodepool": "gpu", "reason": "spot_interrupted", "capacity_type": "spot"},
    ),
    "DevQuotaNearlyFull": Case(
        fires=[(f'{DEV_PODS}, type="used"}}', "46x20"), (f'{DEV_PODS}, type="hard"}}', "50x20")],
        quiet=[(f'{DEV_PODS}, type="used"}}', "44x20"), (f'{DEV_PODS}, type="hard"}}', "50x20")],
        eval_time="15m",
        labels={"namespace": "dev", "resource": "pods"},
    ),
    "ProdQuotaNearlyFull": Case(
        fires=[
            (
                'kube_resourcequota{namespace="prod", resourcequota="prod", resource="pods",'
                ' type="used"}',
                "170x20",
            ),
            (
                'kube_resourcequota{namespace="prod", resourcequota="prod", resource="pods",'
                ' type="hard"}',
                "200x20",
            ),
        ],
        quiet=[
            (
                'kube_resourcequota{namespace="prod", resourcequota="prod", resource="pods",'
                ' type="used"}',
                "150x20",
            ),
            (
                'kube_resourcequota{namespace="prod", resourcequota="prod", resource="pods",'
                ' type="hard"}',
                "200x20",
            ),
        ],
        eval_time="10m",
        labels={"namespace": "prod", "resource": "pods"},
    ),
    # Two pods report the same per-tier length: counted once (2 x 60 would fire).
    "GenerationQueueLong": Case(
        fires=[
            (f'queue_length{{{PROD}, tier="free", pod="api-1"}}', "120x30"),
            (f'queue_length{{{PROD}, tier="free", pod="api-2"}}', "120x30"),
        ],
        quiet=[
            (f'queue_length{{{PROD}, tier="free", pod="api-1"}}', "60x30"),
            (f'queue_length{{{PROD}, tier="free", pod="api-2"}}', "60x30"),
            (f'queue_length{{{PROD}, tier="pro", pod="api-1"}}', "30x30"),
        ],
        eval_time="20m",
        labels={"namespace": "prod"},
    ),
    "PodRestartingOften": Case(
        fires=[
            (
                f'kube_pod_container_status_restarts_total{{{PROD}, pod="api-1", container="api"}}',
                "0+1x40",
            )
        ],
        quiet=[
            (
                f'kube_pod_container_status_restarts_total{{{PROD}, pod="api-1", container="api"}}',
                "0+1x3 3x40",
            )
        ],
        eval_time="30m",
        labels={"namespace": "prod", "pod": "api-1"},
    ),
    "ApiLatencyHigh": Case(
        fires=[
            (f'http_request_duration_seconds_bucket{{{PROD}, le="1"}}', "0+10x30"),
            (f'http_request_duration_seconds_bucket{{{PROD}, le="2.5"}}', "0+100x30"),
            (f'http_request_duration_seconds_bucket{{{PROD}, le="+Inf"}}', "0+100x30"),
        ],
        quiet=[
            (f'http_request_duration_seconds_bucket{{{PROD}, le="1"}}', "0+100x30"),
            (f'http_request_duration_seconds_bucket{{{PROD}, le="2.5"}}', "0+100x30"),
            (f'http_request_duration_seconds_bucket{{{PROD}, le="+Inf"}}', "0+100x30"),
        ],
        eval_time="25m",
        labels={"namespace": "prod"},
    ),
    "GenerationFailureRateHigh": Case(
        fires=[
            (f'worker_jobs_total{{{PROD}, outcome="failed"}}', "0+2x40"),
            (f'worker_jobs_total{{{PROD}, outcome="succeeded"}}', "0+8x40"),
        ],
        quiet=[
            (f'worker_jobs_total{{{PROD}, outcome="failed"}}', "0+1x40"),
            (f'worker_jobs_total{{{PROD}, outcome="succeeded"}}', "0+19x40"),
        ],
        eval_time="35m",
        labels={"namespace": "prod"},
    ),
    "GenerationQueueStalled": Case(
        fires=[
            (f'queue_length{{{PROD}, tier="free", pod="api-1"}}', "5x40"),
            (f'worker_jobs_total{{{PROD}, outcome="succeeded"}}', "10x40"),
        ],
        quiet=[
            (f'queue_length{{{PROD}, tier="free", pod="api-1"}}', "5x40"),
            (f'worker_jobs_total{{{PROD}, outcome="succeeded"}}', "0+1x40"),
        ],
        eval_time="35m",
        labels={"namespace": "prod"},
    ),
    "GpuIdle": Case(
        fires=[('DCGM_FI_DEV_GPU_UTIL{Hostname="ip-10-0-11-5", gpu="0"}', "0x50")],
        quiet=[('DCGM_FI_DEV_GPU_UTIL{Hostname="ip-10-0-11-5", gpu="0"}', "80x50")],
        eval_time="40m",
        labels={"Hostname": "ip-10-0-11-5"},
    ),
    "NodeNotReady": Case(
        fires=[('kube_node_status_condition{node="n1", condition="Ready", status="true"}', "0x20")],
        quiet=[('kube_node_status_condition{node="n1", condition="Ready", status="true"}', "1x20")],
        eval_time="10m",
        labels={"node": "n1", "condition": "Ready", "status": "true"},
    ),
    # A week at 200 credits / 10 min, then ten times that.
    "CreditsConsumptionAnomaly": Case(
        fires=[
            (
                'credits_consumed_total{tier="free"}',
                f"0+200x{WEEK_OF_10M} {200 * WEEK_OF_10M + 2000}+2000x20",
            )
        ],
        quiet=[('credits_consumed_total{tier="free"}', f"0+200x{WEEK_OF_10M + 20}")],
        eval_time=f"{(WEEK_OF_10M + 15) * 10}m",
        labels={},
        interval="10m",
    ),
}


def _expanded(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], template)


def _test_group(alert: Alert, case: Case, fires: bool) -> dict[str, Any]:
    series = case.fires if fires else case.quiet
    expected = []
    if fires:
        rule = alert.rule()
        expected.append(
            {
                "exp_labels": {**case.labels, **rule["labels"]},
                "exp_annotations": {
                    key: _expanded(value, case.labels) for key, value in rule["annotations"].items()
                },
            }
        )
    return {
        "name": f"{alert.name} {'fires' if fires else 'stays quiet'}",
        "interval": case.interval,
        "input_series": [{"series": name, "values": values} for name, values in series],
        "alert_rule_test": [
            {"eval_time": case.eval_time, "alertname": alert.name, "exp_alerts": expected}
        ],
    }


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": prometheus_rule_groups()}, sort_keys=False))
    return path


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, check=False)


@needs_promtool
def test_rules_file_is_valid(rules_file: Path) -> None:
    result = _promtool("check", "rules", str(rules_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in result.stdout


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    assert set(CASES) == {alert.name for alert in ALERTS}


@needs_promtool
@pytest.mark.parametrize("alert", ALERTS, ids=lambda alert: alert.name)
def test_promtool_unit_tests(alert: Alert, rules_file: Path) -> None:
    case = CASES[alert.name]
    tests = rules_file.with_name(f"{alert.name}_test.yaml")
    tests.write_text(
        yaml.safe_dump(
            {
                "rule_files": [rules_file.name],
                "evaluation_interval": "1m",
                "tests": [_test_group(alert, case, fires=True), _test_group(alert, case, False)],
            },
            sort_keys=False,
        )
    )
    result = _promtool("test", "rules", str(tests))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_a_failing_expectation_fails(rules_file: Path) -> None:
    """The harness can fail: a quiet series expected to fire is reported."""
    alert = next(a for a in ALERTS if a.name == "GenerationQueueLong")
    case = CASES[alert.name]
    broken = _test_group(alert, Case(case.quiet, [], case.eval_time, case.labels), True)
    tests = rules_file.with_name("broken_test.yaml")
    tests.write_text(yaml.safe_dump({"rule_files": [rules_file.name], "tests": [broken]}))
    assert _promtool("test", "rules", str(tests)).returncode != 0


# SPEC §7, one row each: (severity, rule, for), as the table states them.
SPEC_PROMETHEUS_ROWS = {
    "API 5xx rate > 5%": ("critical", "ApiErrorRateHigh", "> 0.05", "3m"),
    "GPU node spot interruption": ("critical", "GpuNodeSpotInterrupted", "> 0", "0m"),
    "dev namespace quota > 90%": ("warning", "DevQuotaNearlyFull", "> 0.9", "10m"),
    "prod namespace quota > 80%": ("warning", "ProdQuotaNearlyFull", "> 0.8", "5m"),
    "queue length > 100": ("warning", "GenerationQueueLong", "> 100", "15m"),
    "pod restarts > 5": ("warning", "PodRestartingOften", "> 5", "10m"),
}


@pytest.mark.parametrize("row", SPEC_PROMETHEUS_ROWS, ids=str)
def test_spec_row_is_a_prometheus_rule(row: str) -> None:
    severity, name, threshold, duration = SPEC_PROMETHEUS_ROWS[row]
    (alert,) = [a for a in ALERTS if a.spec_row == row]
    assert alert.name == name
    assert alert.severity == severity
    assert alert.for_ == duration
    assert alert.expr.endswith(threshold) or f"{threshold} " in alert.expr


SPEC_CLOUDWATCH_ROWS = {
    "RDS CPU > 90%": (AURORA_CPU, "critical", 90, 5, "AWS/RDS", "CPUUtilization"),
    "Redis replication lag > 5 s": (
        REDIS_REPLICATION_LAG,
        "critical",
        5,
        2,
        "AWS/ElastiCache",
        "ReplicationLag",
    ),
}


@pytest.mark.parametrize("row", SPEC_CLOUDWATCH_ROWS, ids=str)
def test_spec_row_is_a_cloudwatch_alarm(row: str) -> None:
    alert, severity, threshold, minutes, namespace, metric = SPEC_CLOUDWATCH_ROWS[row]
    assert isinstance(alert, CloudWatchAlert)
    assert alert.spec_row == row
    assert (alert.severity, alert.threshold, alert.minutes) == (severity, threshold, minutes)
    assert (alert.namespace, alert.metric) == (namespace, metric)


def test_every_spec_alert_row_is_covered() -> None:
    """SPEC §7's eight threshold rows; its three info rows are e-mails (see test_operations)."""
    rows = {a.spec_row for a in ALERTS if a.spec_row} | set(SPEC_CLOUDWATCH_ROWS)
    assert rows == set(SPEC_PROMETHEUS_ROWS) | set(SPEC_CLOUDWATCH_ROWS)
    assert len(rows) == 8
