"""Compute: the EKS control plane, node groups, Karpenter pools, and the pods that run on
the general pool (priced by their requests) and the GPU pool."""

from __future__ import annotations

from typing import Any

from app.chart_layers import ValuesLayers
from components.conventions import PREVIEW_NODE_LABEL
from tools.cost import gpu
from tools.cost.lines import Line, Unpriced
from tools.cost.prices import HOURS_PER_MONTH
from tools.cost.rules.context import (
    Context,
    Resource,
    by_price,
    cpu_cores,
    gibibytes,
    monthly_bounds,
    requirements_of,
    unpriced,
)
from tools.cost.usage import PlatformUsage

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"

APP_CHART = "./app/chart"
# vCPUs and GiB of the instance types the general pool is priced as.
INSTANCE_SPECS = {
    "c6i.large": (2, 4),
    "m6i.large": (2, 8),
    "m7g.large": (2, 8),
    "c7g.large": (2, 4),
    "t3.medium": (2, 4),
    "t4g.medium": (2, 4),
}


def eks_cluster(resource: Resource, context: Context) -> list[Line]:
    price = context.prices.get("eks/cluster-standard-support")
    version = resource["inputs"].get("version", "?")
    assumption = f"Kubernetes {version} in standard support"
    return [context.charge(resource, "EKS", "control plane", 1, price, assumption)]


def instance(resource: Resource, context: Context) -> list[Line]:
    instance_type = resource["inputs"]["instanceType"]
    price = context.prices.ec2_hour(instance_type, "on-demand")
    return [context.charge(resource, "EC2", f"{instance_type} on-demand", 1, price, "always on")]


def node_group(resource: Resource, context: Context) -> list[Line]:
    inputs = resource["inputs"]
    scaling = inputs["scalingConfig"]
    instance_type = inputs["instanceTypes"][0]
    capacity = "spot" if inputs.get("capacityType") == "SPOT" else "on-demand"
    price = context.prices.ec2_hour(instance_type, capacity)
    low, desired, high = scaling["minSize"], scaling["desiredSize"], scaling["maxSize"]
    lines = [
        context.charge(
            resource,
            "EC2",
            f"{instance_type} {capacity} node-hours",
            desired,
            price,
            f"{desired} nodes (desired; {low}-{high} allowed)",
            bounds=monthly_bounds(low, high, price.price * HOURS_PER_MONTH),
        )
    ]
    template_id = (inputs.get("launchTemplate") or {}).get("id")
    template = context.by_id(template_id) if template_id else None
    if template is not None:
        size = template["inputs"]["blockDeviceMappings"][0]["ebs"]["volumeSize"]
        lines.append(_root_volumes(resource, context, desired, float(size), low, high))
    return lines


def is_preview_pool(pool: Resource) -> bool:
    labels = pool["inputs"]["spec"]["template"].get("metadata", {}).get("labels", {})
    return all(labels.get(key) == value for key, value in PREVIEW_NODE_LABEL.items())


def preferred_gpu_pool(pools: list[Resource]) -> Resource | None:
    """The GPU pool Karpenter tries first (the highest weight; the weights follow $ per
    image, infra/gpu_ranking.py), leaving out the previews' own pool."""
    gpu_pools = [
        pool
        for pool in pools
        if "nvidia.com/gpu" in pool["inputs"]["spec"].get("limits", {})
        and not is_preview_pool(pool)
    ]
    return max(gpu_pools, key=lambda pool: pool["inputs"]["spec"].get("weight", 0), default=None)


def node_pool(resource: Resource, context: Context) -> list[Line] | Unpriced:
    spec = resource["inputs"]["spec"]
    gpu_limit = spec.get("limits", {}).get("nvidia.com/gpu")
    if gpu_limit is None or is_preview_pool(resource):
        reason = "its nodes are priced in the stacks whose pods run there"
        return unpriced(resource, context, "elsewhere", reason)
    preferred = preferred_gpu_pool(context.of_type(NODE_POOL, context.platform))
    if preferred is not None and preferred["urn"] != resource["urn"]:
        reason = (
            "a fallback: Karpenter launches here only when the preferred pool "
            f"({preferred['inputs']['metadata']['name']}, priced) cannot"
        )
        return unpriced(resource, context, "elsewhere", reason)
    requirements = requirements_of(resource)
    types = requirements["node.kubernetes.io/instance-type"]
    capacities = requirements.get("karpenter.sh/capacity-type", ["on-demand"])
    usage = context.usage.platform
    if "spot" not in capacities or "on-demand" not in capacities:
        share = 0.0 if "on-demand" not in capacities else 1.0
        usage = usage.model_copy(update={"gpu_on_demand_share": share})
    tails = gpu_tail_hours(resource, usage)
    costs = gpu.image_costs(types, usage, context.prices, tails, float(gpu_limit))
    chosen = gpu.cheapest(costs)
    hours = chosen.node_hours or 0.0
    images = sum(workload.per_month for workload in usage.images)
    lines = []
    for capacity, share in (
        ("spot", 1 - usage.gpu_on_demand_share),
        ("on-demand", usage.gpu_on_demand_share),
    ):
        if share <= 0:
            continue
        price = context.prices.ec2_hour(chosen.instance_type, capacity)
        lines.append(
            context.charge(
                resource,
                "EC2",
                f"GPU {chosen.instance_type} {capacity} node-hours",
                hours * share / HOURS_PER_MONTH,
                price,
                f"{images:,.0f} images x {chosen.seconds_per_image:g} s / "
                f"{usage.gpu_utilisation:g} utilisation + {tails:.1f} h of tails = "
                f"{hours:,.0f} h, {share:.0%} {capacity} "
                f"(cheapest per image of {', '.join(types)})",
                bounds=(0.0, round(float(gpu_limit) * price.price * HOURS_PER_MONTH * share, 2)),
            )
        )
    size = _root_volume_gb(context, resource)
    if size is not None:
        nodes = hours / HOURS_PER_MONTH
        lines.append(_root_volumes(resource, context, nodes, size, 0, float(gpu_limit)))
    return lines


def gpu_tail_hours(pool: Resource, usage: PlatformUsage) -> float:
    """The pool's scale-down tails: KEDA's cooldown (the app chart's) and the pool's own
    consolidateAfter, plus the usage's cold start, per scale-from-zero."""
    cooldown = float(ValuesLayers({}).effective()["worker"]["cooldownPeriod"])
    after = pool["inputs"]["spec"].get("disruption", {}).get("consolidateAfter", "0s")
    return gpu.tail_hours(usage, cooldown, duration_seconds(after))


def duration_seconds(text: str) -> float:
    """A Kubernetes duration such as "5m" or "30s" in seconds ("Never" is a month)."""
    if text == "Never":
        return HOURS_PER_MONTH * 3600.0
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]]


def _root_volume_gb(context: Context, pool: Resource) -> float | None:
    """The root volume of the nodes a Karpenter pool launches, from its EC2NodeClass."""
    name = pool["inputs"]["spec"]["template"]["spec"]["nodeClassRef"]["name"]
    node_classes = context.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", context.platform)
    for node_class in node_classes:
        if node_class["inputs"]["metadata"]["name"] == name:
            volume = node_class["inputs"]["spec"]["blockDeviceMappings"][0]["ebs"]
            return gibibytes(volume["volumeSize"])
    return None


def _root_volumes(
    resource: Resource, context: Context, nodes: float, size_gb: float, low: float, high: float
) -> Line:
    price = context.prices.get("ebs/gp3-storage")
    return context.charge(
        resource,
        "EC2",
        f"gp3 root volumes ({size_gb:g} GB a node)",
        nodes * size_gb,
        price,
        f"{nodes:.3g} nodes x {size_gb:g} GB",
        bounds=monthly_bounds(low * size_gb, high * size_gb, price.price),
    )


def app_release(resource: Resource, context: Context) -> list[Line] | Unpriced:
    inputs = resource["inputs"]
    if inputs.get("chart") != APP_CHART:
        return _add_on(resource, context)
    # The release's values carry its profile's file; the chart's defaults go underneath.
    values = ValuesLayers(inputs.get("values") or {}).effective()
    api = values["api"]
    pods_per_replica = len(api["services"])
    replicas = float(api["replicas"])
    most = float(api["autoscaling"]["maxReplicas"]) if api["autoscaling"]["enabled"] else replicas
    average = context.usage.environment(context.stack).api_replicas_average
    average = replicas if average is None else min(max(average, replicas), most)
    requests = api["resources"]["requests"]
    cpu, memory = cpu_cores(requests["cpu"]), gibibytes(requests["memory"])
    lines = _general_pool(
        resource,
        context,
        f"API pods ({pods_per_replica} services x {average:g} replicas)",
        pods_per_replica * average,
        cpu,
        memory,
        (pods_per_replica * replicas, pods_per_replica * most),
    )
    worker = values["worker"]
    lines.extend(_gpu_workers(resource, context, worker["minReplicas"], worker["maxReplicas"]))
    return lines


def _add_on(resource: Resource, context: Context) -> list[Line] | Unpriced:
    """An add-on's pods run on the system nodes (priced there); the volumes its values
    claim (Prometheus' and Alertmanager's) are gp3, the cluster's default class."""
    claims = _claimed_gib(resource["inputs"].get("values") or {})
    if not claims:
        return unpriced(resource, context, "free", "an add-on on the system nodes")
    price = context.prices.get("ebs/gp3-storage")
    sizes = " + ".join(f"{size:g}" for size in claims)
    return [
        context.charge(
            resource, "EC2", "gp3 volumes claimed", sum(claims), price, f"{sizes} GB claimed"
        )
    ]


def _claimed_gib(values: Any) -> list[float]:
    """The storage every `volumeClaimTemplate` in a chart's values requests."""
    if isinstance(values, list):
        return [size for item in values for size in _claimed_gib(item)]
    if not isinstance(values, dict):
        return []
    template = values.get("volumeClaimTemplate")
    if isinstance(template, dict):
        return [gibibytes(template["spec"]["resources"]["requests"]["storage"])]
    return [size for value in values.values() for size in _claimed_gib(value)]


def _gpu_workers(resource: Resource, context: Context, low: int, high: int) -> list[Line]:
    """The KEDA workers' nodes are the platform's GPU pool, priced there from the average
    node count; the line here carries their bounds at the pool's cheapest Spot price."""
    pool = preferred_gpu_pool(context.of_type(NODE_POOL, context.platform))
    if pool is None:
        return []
    requirements = requirements_of(pool)
    types = requirements["node.kubernetes.io/instance-type"]
    price = min((context.prices.ec2_hour(t, "spot") for t in types), key=by_price)
    return [
        context.charge(
            resource,
            "EC2",
            f"GPU workers (KEDA {low}-{high}) on the platform's GPU pool",
            0,
            price,
            "priced on the platform's GPU pool from the usage's images",
            bounds=monthly_bounds(low, high, price.price * HOURS_PER_MONTH),
        )
    ]


def stateful_set(resource: Resource, context: Context) -> list[Line]:
    spec = resource["inputs"]["spec"]
    replicas = float(spec.get("replicas", 1))
    containers = spec["template"]["spec"]["containers"]
    cpu = sum(
        cpu_cores(c.get("resources", {}).get("requests", {}).get("cpu", "0")) for c in containers
    )
    memory = sum(
        gibibytes(c.get("resources", {}).get("requests", {}).get("memory", "0")) for c in containers
    )
    name = resource["inputs"]["metadata"]["name"]
    lines = _general_pool(
        resource, context, f"{name} pods", replicas, cpu, memory, (replicas, replicas)
    )
    claims = sum(
        gibibytes(claim["spec"]["resources"]["requests"]["storage"])
        for claim in spec.get("volumeClaimTemplates", [])
    )
    if claims:
        price = context.prices.get("ebs/gp3-storage")
        lines.append(
            context.charge(
                resource, "EC2", "gp3 volumes", replicas * claims, price, f"{claims:g} GB a pod"
            )
        )
    return lines


def _general_pool(
    resource: Resource,
    context: Context,
    what: str,
    pods: float,
    cpu: float,
    memory: float,
    pod_bounds: tuple[float, float],
) -> list[Line]:
    """Pods' requests priced as a share of the general pool's nodes (Kubecost-style): the
    instance-hours and the nodes' root volumes."""
    pools = [
        pool
        for pool in context.of_type("kubernetes:karpenter.sh/v1:NodePool", context.platform)
        if "nvidia.com/gpu" not in pool["inputs"]["spec"].get("limits", {})
    ]
    if not pools:
        raise LookupError("no general node pool in the platform to run these pods")
    requirements = requirements_of(pools[0])
    spot = "spot" in requirements.get("karpenter.sh/capacity-type", [])
    capacity = "spot" if spot else "on-demand"
    usage = context.usage.platform
    # Karpenter launches the cheapest type the pool allows: of the like-for-like types the
    # usage names per architecture (c6i.large, c7g.large), the cheaper at this capacity.
    instance_type = min(
        (
            usage.general_pool_instance_type[arch]
            for arch in requirements.get("kubernetes.io/arch", ["amd64"])
        ),
        key=lambda candidate: context.prices.ec2_hour(candidate, capacity).price,
    )
    vcpus, gib = INSTANCE_SPECS[instance_type]
    price = context.prices.ec2_hour(instance_type, capacity)
    per_pod = max(cpu / vcpus, memory / gib) / usage.general_pool_packing
    low, high = pod_bounds[0] * per_pod, pod_bounds[1] * per_pod
    nodes = pods * per_pod
    lines = [
        context.charge(
            resource,
            "EC2",
            f"{what} on the general pool ({instance_type} {capacity})",
            nodes,
            price,
            f"{pods:g} pods x {cpu:g} vCPU / {memory:g} GiB requested, "
            f"{usage.general_pool_packing:.0%} packed",
            bounds=monthly_bounds(low, high, price.price * HOURS_PER_MONTH),
        )
    ]
    size = _root_volume_gb(context, pools[0])
    if size is not None:
        lines.append(_root_volumes(resource, context, nodes, size, low, high))
    return lines
