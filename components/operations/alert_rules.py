"""The alerts of SPEC §7 (and the few an on-call engineer needs besides), as data.

One list feeds the PrometheusRule the monitoring component installs, the rules file
`promtool test rules` checks (tests/ops), and docs/operations.md. SPEC's two CloudWatch
rows (RDS CPU, Redis replication lag) are CloudWatch alarms (`components.alarms`), not
Prometheus rules: Prometheus cannot see those metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CRITICAL, WARNING, INFO = "critical", "warning", "info"
# The Karpenter NodePool of the GPU workers (components.cluster.karpenter).
GPU_NODE_POOL = "gpu"
# Each alert's section in the operations page (what it means, what to do).
RUNBOOK_PAGE = "docs/operations.md"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str  # Prometheus duration; "0m" fires on the first evaluation
    severity: str
    summary: str
    # The SPEC §7 row this alert implements, verbatim; None for our own additions.
    spec_row: str | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def rule(self) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, **self.labels},
            "annotations": {
                "summary": self.summary,
                "runbook_url": f"{RUNBOOK_PAGE}#{self.name.lower()}",
            },
        }


def _quota_used_ratio(namespace: str) -> str:
    """Used / hard per quota'd resource of `namespace` (kube-state-metrics)."""
    return (
        f'max by (namespace, resource) (kube_resourcequota{{namespace="{namespace}", type="used"}})'
        f" / max by (namespace, resource)"
        f' (kube_resourcequota{{namespace="{namespace}", type="hard"}} > 0)'
    )


API_5XX_RATIO = (
    'sum by (namespace) (rate(http_requests_total{status=~"5.."}[5m]))'
    " / sum by (namespace) (rate(http_requests_total[5m]))"
)
API_P95_SECONDS = (
    "histogram_quantile(0.95,"
    " sum by (namespace, le) (rate(http_request_duration_seconds_bucket[5m])))"
)
# Every API pod and worker exports the same per-tier length: take one, then add tiers.
QUEUE_LENGTH = "sum by (namespace) (max by (namespace, tier) (queue_length))"
JOB_FAILURE_RATIO = (
    'sum by (namespace) (rate(worker_jobs_total{outcome=~"failed|dead_lettered"}[15m]))'
    " / sum by (namespace)"
    ' (rate(worker_jobs_total{outcome=~"succeeded|failed|dead_lettered"}[15m]))'
)

ALERTS: tuple[Alert, ...] = (
    Alert(
        "ApiErrorRateHigh",
        f"{API_5XX_RATIO} > 0.05",
        "3m",
        CRITICAL,
        "More than 5% of {{ $labels.namespace }} API requests answer 5xx.",
        spec_row="API 5xx rate > 5%",
    ),
    Alert(
        "GpuNodeSpotInterrupted",
        "increase(karpenter_nodeclaims_disrupted_total"
        f'{{nodepool="{GPU_NODE_POOL}", reason="spot_interrupted"}}[5m]) > 0',
        "0m",
        CRITICAL,
        "AWS reclaims a Spot GPU node: its jobs move to other workers.",
        spec_row="GPU node spot interruption",
    ),
    Alert(
        "DevQuotaNearlyFull",
        f"{_quota_used_ratio('dev')} > 0.9",
        "10m",
        WARNING,
        "dev uses over 90% of its {{ $labels.resource }} quota.",
        spec_row="dev namespace quota > 90%",
    ),
    Alert(
        "ProdQuotaNearlyFull",
        f"{_quota_used_ratio('prod')} > 0.8",
        "5m",
        WARNING,
        "prod uses over 80% of its {{ $labels.resource }} quota.",
        spec_row="prod namespace quota > 80%",
    ),
    Alert(
        "GenerationQueueLong",
        f"{QUEUE_LENGTH} > 100",
        "15m",
        WARNING,
        "{{ $labels.namespace }} has over 100 generation jobs waiting.",
        spec_row="queue length > 100",
    ),
    Alert(
        "PodRestartingOften",
        "sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total[1h])) > 5",
        "10m",
        WARNING,
        "{{ $labels.namespace }}/{{ $labels.pod }} restarted more than 5 times in an hour.",
        spec_row="pod restarts > 5",
    ),
    # Beyond the SPEC table: what an on-call engineer needs to see before users do.
    Alert(
        "ApiLatencyHigh",
        f"{API_P95_SECONDS} > 1",
        "10m",
        WARNING,
        "p95 latency of the {{ $labels.namespace }} API is over 1 s.",
    ),
    Alert(
        "GenerationFailureRateHigh",
        f"{JOB_FAILURE_RATIO} > 0.1",
        "10m",
        WARNING,
        "Over 10% of {{ $labels.namespace }} generation jobs fail (credits are refunded).",
    ),
    Alert(
        "GenerationQueueStalled",
        f"{QUEUE_LENGTH} > 0 and on (namespace)"
        ' sum by (namespace) (rate(worker_jobs_total{outcome="succeeded"}[15m])) == 0',
        "15m",
        WARNING,
        "{{ $labels.namespace }} has waiting jobs and no worker finished one in 15 minutes.",
    ),
    Alert(
        "GpuIdle",
        "avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL) < 5",
        "30m",
        WARNING,
        "GPU on {{ $labels.Hostname }} below 5% for 30 minutes: a paid node doing nothing.",
    ),
    Alert(
        "NodeNotReady",
        'kube_node_status_condition{condition="Ready", status="true"} == 0',
        "5m",
        WARNING,
        "Node {{ $labels.node }} is not Ready.",
    ),
    Alert(
        "CreditsConsumptionAnomaly",
        "sum(rate(credits_consumed_total[1h]))"
        " > 3 * sum(rate(credits_consumed_total[1h] offset 1w))"
        " and sum(rate(credits_consumed_total[1h])) > 1",
        "30m",
        WARNING,
        "Credits are spent three times faster than this hour last week.",
    ),
)


def prometheus_rule_groups() -> list[dict[str, Any]]:
    """The `spec.groups` of the PrometheusRule, and the groups of the promtool rules file."""
    return [
        {"name": "pingvas.spec", "rules": [a.rule() for a in ALERTS if a.spec_row]},
        {"name": "pingvas.operations", "rules": [a.rule() for a in ALERTS if not a.spec_row]},
    ]
