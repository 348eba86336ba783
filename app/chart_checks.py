"""Chart values that each pass their own type but contradict each other, refused before
Helm is handed them: the API server, the HorizontalPodAutoscaler or KEDA would refuse the
object, or the pod could never be admitted, only after the release's 900 s wait.

Each problem names its values key (as in values.yaml), so the stack's config check
(stacks/release_fit.py) can name the stack key that set it.
"""

from __future__ import annotations

from app.chart_capacity import quantity
from app.chart_values import ChartValues, Resources

# Kubernetes accepts an extended resource (a GPU) only with requests equal to limits.
_EXTENDED = "nvidia.com/gpu"


def _resource_problems(key: str, resources: Resources) -> list[tuple[str, str]]:
    requests = resources.requests.model_dump(by_alias=True, exclude_none=True)
    limits = resources.limits.model_dump(by_alias=True, exclude_none=True)
    problems = []
    for name in sorted(requests.keys() & limits.keys()):
        asked, most = quantity(requests[name]), quantity(limits[name])
        if name == _EXTENDED and asked != most:
            problems.append(
                (
                    f"{key}.requests.{name}",
                    f"{requests[name]} differs from limits ({limits[name]}); the API server "
                    "takes a GPU only with requests equal to limits",
                )
            )
        elif asked > most:
            problems.append(
                (
                    f"{key}.requests.{name}",
                    f"{requests[name]} is above limits.{name} ({limits[name]}); the API "
                    "server refuses a request above its limit",
                )
            )
    return problems


def contradictions(values: ChartValues) -> list[tuple[str, str]]:
    """(values key, why) for each pair of values that cannot both hold; [] when none."""
    api, worker = values.api, values.worker
    problems = [
        *_resource_problems("api.resources", api.resources),
        *_resource_problems("worker.resources", worker.resources),
    ]
    if api.autoscaling.enabled and api.replicas > api.autoscaling.max_replicas:
        problems.append(
            (
                "api.replicas",
                f"{api.replicas} is above api.autoscaling.maxReplicas "
                f"({api.autoscaling.max_replicas}); the HPA refuses minReplicas above "
                "maxReplicas",
            )
        )
    if worker.min_replicas > worker.max_replicas:
        problems.append(
            (
                "worker.minReplicas",
                f"{worker.min_replicas} is above worker.maxReplicas ({worker.max_replicas}); "
                "KEDA refuses a ScaledObject whose minimum exceeds its maximum",
            )
        )
    return problems
