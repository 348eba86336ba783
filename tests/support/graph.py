"""Checks of a preview's deployment graph: what a first `pulumi up` on an empty cluster
needs to have been created before each object, read from the edges the engine honours.

An edge is a resource's `dependencies` (explicit `depends_on`, expanded to a component's
children, and the resources its inputs come from) and its provider. A child does not wait
for what its parent component depends on (Pulumi does not pass `depends_on` down), so the
parent is not an edge here.
"""

from __future__ import annotations

import functools
import graphlib
from pathlib import Path

import yaml

from components import chart_versions
from pulumi_offline import OfflineRun, RecordedResource
from tests.support.crds import CRDS, _CrdLoader
from tests.support.preview import RELEASE

# The chart that installs each vendored directory's CRDs (vendor/crds/README.md).
CRD_CHARTS = {
    "aws-load-balancer-controller": chart_versions.AWS_LOAD_BALANCER_CONTROLLER,
    "external-secrets": chart_versions.EXTERNAL_SECRETS,
    "karpenter": chart_versions.KARPENTER,
    "keda": chart_versions.KEDA,
    "prometheus-operator": chart_versions.KUBE_PROMETHEUS_STACK,
}
# Built-in kinds a chart's fail-closed admission webhook validates: the AWS Load Balancer
# Controller's `vingress.elbv2.k8s.aws` (failurePolicy Fail) refuses Ingresses while the
# controller is not up (chart templates/webhook.yaml).
WEBHOOK_CHARTS = {
    "kubernetes:networking.k8s.io/v1:Ingress": chart_versions.AWS_LOAD_BALANCER_CONTROLLER,
}
# Namespaces every cluster has before anything is deployed.
BUILT_IN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
NAMESPACE = "kubernetes:core/v1:Namespace"


@functools.cache
def crd_groups() -> dict[str, chart_versions.Chart]:
    """API group → the chart whose release installs its CRDs (and their webhooks)."""
    groups = {}
    for directory, chart in CRD_CHARTS.items():
        for path in (CRDS / directory).glob("*.yaml"):
            crd = yaml.load(path.read_text(), Loader=_CrdLoader)  # noqa: S506 (a safe loader)
            groups[crd["spec"]["group"]] = chart
    return groups


def _chart_name(chart: chart_versions.Chart) -> str:
    return Path(chart.name).name  # an oci:// reference ends with the chart's name


def edges(resource: RecordedResource) -> set[str]:
    provider = resource.provider.rsplit("::", 1)[0] if resource.provider else None
    return {*resource.dependencies, *([provider] if provider else [])} - {resource.urn}


def ancestors(run: OfflineRun) -> dict[str, set[str]]:
    """URN → every URN created before it (transitively)."""
    graph = {resource.urn: edges(resource) for resource in run.resources}
    before: dict[str, set[str]] = {}
    for urn in graphlib.TopologicalSorter(graph).static_order():
        before[urn] = set().union(*(before[d] | {d} for d in graph.get(urn, ()) if d in before))
    return before


def dangling_edges(run: OfflineRun) -> list[str]:
    """Edges to resources the run does not have (and the cycle a graph must not hold)."""
    known = {resource.urn for resource in run.resources}
    problems = [
        f"{resource.name} waits for {urn}, which the stack does not create"
        for resource in run.resources
        for urn in sorted(edges(resource) - known)
    ]
    try:
        ancestors(run)
    except graphlib.CycleError as cycle:
        problems.append(f"dependency cycle: {cycle.args[1]}")
    return problems


def _kubernetes_group(resource: RecordedResource) -> str:
    """`kubernetes:<group>/<version>:<Kind>` → group."""
    return resource.type.split(":")[1].rsplit("/", 1)[0]


def installer_problems(run: OfflineRun, platform: OfflineRun | None) -> list[str]:
    """Every custom resource and every webhook-validated object waits for the release that
    installs its CRD and webhook. In an environment stack (`platform` given) that release
    belongs to the platform stack, which is up before any environment reads its outputs."""
    releases = {r.inputs["chart"]: r for r in run.of_type(RELEASE)}
    platform_charts = {r.inputs["chart"] for r in platform.of_type(RELEASE)} if platform else set()
    before = ancestors(run)
    problems = []
    for resource in run.resources:
        if not resource.type.startswith("kubernetes:"):
            continue
        chart = WEBHOOK_CHARTS.get(resource.type) or crd_groups().get(_kubernetes_group(resource))
        if chart is None:
            continue
        release = releases.get(chart.name)
        if release is None:
            if chart.name not in platform_charts:
                problems.append(f"{resource.name}: nothing installs {_chart_name(chart)}")
        elif release.urn not in before[resource.urn]:
            problems.append(f"{resource.name} does not wait for {_chart_name(chart)}")
    return problems


def namespace_of(resource: RecordedResource) -> str | None:
    if resource.type == RELEASE:
        return str(resource.inputs.get("namespace") or "default")
    metadata = resource.inputs.get("metadata")
    return metadata.get("namespace") if isinstance(metadata, dict) else None


def namespace_problems(run: OfflineRun) -> list[str]:
    """Every namespaced object waits for its namespace (or the namespace is built in)."""
    namespaces = {r.inputs["metadata"]["name"]: r.urn for r in run.of_type(NAMESPACE)}
    before = ancestors(run)
    problems = []
    for resource in run.resources:
        namespace = namespace_of(resource)
        if namespace is None or namespace in BUILT_IN_NAMESPACES:
            continue
        if namespace not in namespaces:
            problems.append(f"{resource.name}: namespace {namespace} is not created here")
        elif namespaces[namespace] not in before[resource.urn]:
            problems.append(f"{resource.name} does not wait for namespace {namespace}")
    return problems
