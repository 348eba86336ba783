"""What a pr-<N> stack costs per day at zero traffic (issue 17): at most $0.50.

Until `python -m infra.cost` prices stacks, this is the calculation docs/ephemeral.md
documents, computed from what the stack really creates: its Secrets Manager secrets
(the offline preview), the pods that run at zero traffic and their requests (the chart
rendered with the stack's release values, plus the in-cluster data stores), and their
volumes. The figure in docs/ephemeral.md must be this one."""

from __future__ import annotations

import re
from typing import Any

from tests.chart.conftest import REPO, Render, release_values, render
from tests.infra.conftest import run_stack

HOURS_PER_MONTH = 730
HOURS_PER_DAY = 24
BUDGET_PER_DAY = 0.50
# us-east-1 unit prices (USD), read 2026-12 from the pages named.
# https://aws.amazon.com/secrets-manager/pricing/ (prorated by the hour)
SECRET_PER_MONTH = 0.40
SECRETS_API_PER_CALL = 0.05 / 10_000
# https://aws.amazon.com/ebs/pricing/ (gp3, the cluster's default storage class)
GP3_PER_GB_MONTH = 0.08
# https://aws.amazon.com/fargate/pricing/ (Fargate Spot, Linux/x86): the price of Spot
# capacity per requested vCPU and GB, what the preview's pods take from Karpenter's
# Spot nodes.
SPOT_PER_VCPU_HOUR = 0.01334058
SPOT_PER_GB_HOUR = 0.00146489
_QUANTITY = re.compile(r"^([0-9.]+)(m|Mi|Gi)?$")


def quantity(value: str | int | float) -> float:
    """CPU in cores, memory in GiB."""
    number, unit = _QUANTITY.match(str(value)).groups()  # type: ignore[union-attr]
    scale = {"m": 1 / 1000, "Mi": 1 / 1024, "Gi": 1.0, None: 1.0}[unit]
    return float(number) * scale


def idle_pods(pr_render: Render) -> list[tuple[int, dict[str, Any]]]:
    """(replicas, pod spec) of every workload running at zero traffic."""
    scaled_to = {
        s["spec"]["scaleTargetRef"]["name"]: s["spec"].get("minReplicaCount", 0)
        for s in pr_render.of_kind("ScaledObject")
    }
    pods = []
    for deployment in pr_render.of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        replicas = scaled_to.get(name, deployment["spec"].get("replicas", 1))
        pods.append((replicas, deployment["spec"]["template"]["spec"]))
    for stateful_set in run_stack("pr-7").of_type("kubernetes:apps/v1:StatefulSet"):
        pods.append((stateful_set.inputs["spec"]["replicas"], stateful_set.inputs["spec"]))
    return pods


def daily_cost() -> dict[str, float]:
    pr = run_stack("pr-7")
    pr_render = render("pr-7", release_values("pr-7"))
    cpu = memory = volumes = 0.0
    for replicas, spec in idle_pods(pr_render):
        if "template" in spec:  # a StatefulSet: its pod and its volumes
            for claim in spec.get("volumeClaimTemplates", []):
                volumes += replicas * quantity(claim["spec"]["resources"]["requests"]["storage"])
            spec = spec["template"]["spec"]
        for container in spec["containers"]:
            requests = container["resources"]["requests"]
            cpu += replicas * quantity(requests["cpu"])
            memory += replicas * quantity(requests["memory"])
    secrets = len(pr.of_type("aws:secretsmanager/secret:Secret"))
    # External Secrets reads each synced secret once per refresh (hourly).
    reads = sum(len(e["spec"].get("data", [])) for e in pr_render.of_kind("ExternalSecret"))
    return {
        "compute": HOURS_PER_DAY * (cpu * SPOT_PER_VCPU_HOUR + memory * SPOT_PER_GB_HOUR),
        "secrets": secrets * SECRET_PER_MONTH * HOURS_PER_DAY / HOURS_PER_MONTH,
        "secret reads": reads * HOURS_PER_DAY * SECRETS_API_PER_CALL,
        "volumes": volumes * GP3_PER_GB_MONTH * HOURS_PER_DAY / HOURS_PER_MONTH,
    }


def test_a_preview_costs_under_fifty_cents_a_day_at_zero_traffic() -> None:
    costs = daily_cost()
    total = sum(costs.values())
    assert total <= BUDGET_PER_DAY, costs
    # Compute dominates: the five API pods and the two data stores, no GPU worker.
    assert costs["compute"] > costs["secrets"] > costs["volumes"] > 0
    # The documented figure is this calculation's.
    document = (REPO / "docs" / "ephemeral.md").read_text()
    (documented,) = re.findall(r"\*\*\$([0-9.]+) per day\*\*", document)
    assert float(documented) == round(total, 2)
