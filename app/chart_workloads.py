"""What the app chart runs, from its values alone: the pods of a release (its Deployments,
their autoscalers, the migration hook and the Helm test pod) as the manifests'
scheduling-relevant fields, in the shape app/chart_capacity.py counts.

The program checks a stack's quota against these before anything is registered
(stacks/release_fit.py), where rendering the chart would need Helm. The fields below are the
templates' (app/chart/templates/): tests/chart/test_workloads_model.py holds each one equal
to the chart as Helm renders it for every preview.
"""

from __future__ import annotations

import copy
from typing import Any

from app.chart_values import ChartValues, Resources

# The release's name (components/environment/app_release.py installs it so).
RELEASE = "pingvas"
# Fixed in the templates: api.yaml's surge, worker.yaml's replace-not-surge rollout, and the
# one-off pods' own requests (migrations.yaml, tests/readiness.yaml).
API_STRATEGY = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}
WORKER_STRATEGY = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
MIGRATIONS_RESOURCES = {
    "requests": {"cpu": "100m", "memory": "256Mi"},
    "limits": {"cpu": "500m", "memory": "512Mi"},
}
READINESS_RESOURCES = {
    "requests": {"cpu": "50m", "memory": "64Mi"},
    "limits": {"cpu": "200m", "memory": "128Mi"},
}
HOOK = "helm.sh/hook"


def _containers(name: str, resources: Resources | dict[str, Any]) -> dict[str, Any]:
    dumped = (
        resources.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(resources, Resources)
        else resources
    )
    return {"containers": [{"name": name, "resources": dumped}]}


def _manifest(
    kind: str, name: str, spec: dict[str, Any], hook: str | None = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if hook is not None:
        metadata["annotations"] = {HOOK: hook}
    # A copy: callers may edit what they get without touching the templates' constants.
    return {"kind": kind, "metadata": metadata, "spec": copy.deepcopy(spec)}


def release_workloads(values: ChartValues) -> list[dict[str, Any]]:
    """The release's pod-making objects for `values` (migrations counted as enabled when
    the values leave it to the release: the worst case)."""
    api, worker = values.api, values.worker
    manifests = []
    for service in sorted(api.services):
        name = f"{service}-service"
        spec: dict[str, Any] = {
            "strategy": API_STRATEGY,
            "template": {"spec": _containers(service, api.resources)},
        }
        if api.autoscaling.enabled:
            manifests.append(
                _manifest(
                    "HorizontalPodAutoscaler",
                    name,
                    {
                        "scaleTargetRef": {"name": name},
                        "minReplicas": api.replicas,
                        "maxReplicas": api.autoscaling.max_replicas,
                    },
                )
            )
        else:
            spec["replicas"] = api.replicas
        manifests.append(_manifest("Deployment", name, spec))
    manifests.append(
        _manifest(
            "Deployment",
            "gpu-worker",
            {
                "strategy": WORKER_STRATEGY,
                "template": {"spec": _containers("worker", worker.resources)},
            },
        )
    )
    manifests.append(
        _manifest(
            "ScaledObject",
            "gpu-worker",
            {
                "scaleTargetRef": {"name": "gpu-worker"},
                "minReplicaCount": worker.min_replicas,
                "maxReplicaCount": worker.max_replicas,
            },
        )
    )
    manifests.append(
        _manifest(
            "Job",
            f"{RELEASE}-migrations",
            {"template": {"spec": _containers("migrations", MIGRATIONS_RESOURCES)}},
            hook="pre-install,pre-upgrade",
        )
    )
    readiness = _containers("readyz", READINESS_RESOURCES)
    manifests.append(_manifest("Pod", f"{RELEASE}-readiness", readiness, hook="test"))
    return manifests
