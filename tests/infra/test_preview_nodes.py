"""Issue 22, item 6: previews (CPU and GPU) on their own tainted node pools. The platform's
NodePools are read from the offline preview of `shared`; the pods are those the pr-7, dev
and prod stacks and their rendered charts make; the `pingvas-preview-nodes` admission
policy is evaluated with a real CEL implementation (cel-python): a preview pod off the
preview pools, or another environment's pod tolerating them, is refused (the attacks);
every pod the stacks and charts make is admitted and lands where it should (the controls)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.conventions import PREVIEW_NODES_TAG
from pulumi_offline import OfflineRun
from tests.support.cel import evaluate
from tests.support.chart import release_values, render
from tests.support.stacks import run_stack

POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
PREVIEW_POOLS = {"preview", "preview-gpu"}
PREVIEW_NAMESPACE = {"metadata": {"name": "pr-7", "labels": {"pingvas.io/preview": "true"}}}
DEV_NAMESPACE = {"metadata": {"name": "dev", "labels": {"pingvas.io/environment": "dev"}}}
PROD_NAMESPACE = {"metadata": {"name": "prod", "labels": {"pingvas.io/environment": "prod"}}}


def pools(shared: OfflineRun) -> dict[str, dict[str, Any]]:
    return {p.inputs["metadata"]["name"]: p.inputs["spec"] for p in shared.of_type(NODE_POOL)}


def policy(shared: OfflineRun) -> dict[str, Any]:
    (found,) = [
        p for p in shared.of_type(POLICY) if p.inputs["metadata"]["name"] == "pingvas-preview-nodes"
    ]
    spec: dict[str, Any] = found.inputs["spec"]
    return spec


def refusals(
    shared: OfflineRun,
    pod_spec: dict[str, Any],
    namespace: dict[str, Any],
    operation: str = "CREATE",
) -> list[str]:
    context = {
        "object": {"metadata": {"name": "p"}, "spec": pod_spec},
        "namespaceObject": namespace,
        "request": {"operation": operation},
    }
    return [
        rule["message"]
        for rule in policy(shared)["validations"]
        if not bool(evaluate(rule["expression"], context))
    ]


def lands_on(spec: dict[str, Any], all_pools: dict[str, dict[str, Any]]) -> set[str]:
    """The NodePools whose nodes the pod may run on: its nodeSelector within their labels,
    and every NoSchedule taint of theirs tolerated."""

    def tolerates(taint: dict[str, str]) -> bool:
        return any(
            (t.get("key") in (None, "") and t.get("operator") == "Exists")
            or (
                t.get("key") == taint["key"]
                and (t.get("operator") == "Exists" or t.get("value") == taint.get("value"))
            )
            for t in spec.get("tolerations", [])
        )

    found = set()
    for name, pool in all_pools.items():
        template = pool["template"]
        labels = template.get("metadata", {}).get("labels", {})
        selector = spec.get("nodeSelector", {})
        if all(labels.get(k) == v for k, v in selector.items()) and all(
            tolerates(taint) for taint in template["spec"].get("taints", [])
        ):
            found.add(name)
    return found


def stack_pod_specs(stack: str) -> list[tuple[str, dict[str, Any]]]:
    """Every pod template the stack and its chart make in the environment's namespace."""
    specs = []
    for kind in ("StatefulSet", "Deployment", "Job"):
        for resource in run_stack(stack).of_type(
            f"kubernetes:{'batch' if kind == 'Job' else 'apps'}/v1:{kind}"
        ):
            if resource.inputs["metadata"].get("namespace") == stack:
                specs.append(
                    (f"{kind}/{resource.name}", resource.inputs["spec"]["template"]["spec"])
                )
    rendered = render(stack, release_values(stack))
    for manifest in rendered.manifests:
        if manifest["kind"] in ("Deployment", "Job"):
            specs.append(
                (f"chart {manifest['metadata']['name']}", manifest["spec"]["template"]["spec"])
            )
        if manifest["kind"] == "Pod":
            specs.append((f"chart {manifest['metadata']['name']}", manifest["spec"]))
    return specs


# --- the pools ------------------------------------------------------------------------------


def test_the_preview_pools_are_tainted_labelled_and_limited(shared: OfflineRun) -> None:
    all_pools = pools(shared)
    assert set(all_pools) >= PREVIEW_POOLS
    for name, pool in all_pools.items():
        template = pool["template"]
        taints = template["spec"].get("taints", [])
        labels = template.get("metadata", {}).get("labels", {})
        preview_taint = {"key": "pingvas.io/preview", "value": "true", "effect": "NoSchedule"}
        if name in PREVIEW_POOLS:
            assert preview_taint in taints, name
            assert labels["pingvas.io/preview"] == "true", name
            assert template["spec"]["nodeClassRef"]["name"] in ("preview", "preview-gpu")
        else:
            assert preview_taint not in taints, name
            assert "pingvas.io/preview" not in labels, name
    assert all_pools["preview"]["limits"] == {"cpu": 16}
    assert all_pools["preview-gpu"]["limits"] == {"nvidia.com/gpu": 2}
    # The previews' GPU nodes are Spot only: no on-demand GPU hour for a pull request.
    (capacity,) = [
        r["values"]
        for r in all_pools["preview-gpu"]["template"]["spec"]["requirements"]
        if r["key"] == "karpenter.sh/capacity-type"
    ]
    assert capacity == ["spot"]


def test_preview_nodes_have_their_own_security_group_no_data_store_admits(
    shared: OfflineRun,
) -> None:
    classes = {c.inputs["metadata"]["name"]: c.inputs["spec"] for c in shared.of_type(NODE_CLASS)}
    for name in ("preview", "preview-gpu"):
        terms = classes[name]["securityGroupSelectorTerms"]
        assert {"tags": {PREVIEW_NODES_TAG: "pingvas-shared-eks"}} in terms
        assert not any("karpenter.sh/discovery" in t.get("tags", {}) for t in terms)
    groups = {g.name: g for g in shared.of_type("aws:ec2/securityGroup:SecurityGroup")}
    preview_group = groups["pingvas-shared-preview-nodes"]
    assert preview_group.inputs["tags"][PREVIEW_NODES_TAG] == "pingvas-shared-eks"
    data_groups = {g.id for n, g in groups.items() if n.split("-")[2] in ("rds", "redis")}
    assert data_groups, "the control saw no data store's group"
    ingress = shared.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    into_data = [r for r in ingress if r.inputs["securityGroupId"] in data_groups]
    assert into_data, "the control saw no rule into a data store"
    assert all(r.inputs.get("referencedSecurityGroupId") != preview_group.id for r in into_data)


# --- admission: attacks ---------------------------------------------------------------------


def test_a_preview_pod_off_the_preview_pools_is_refused(shared: OfflineRun) -> None:
    on_preview: dict[str, Any] = {"nodeSelector": {"pingvas.io/preview": "true"}, "containers": []}
    assert refusals(shared, on_preview, PREVIEW_NAMESPACE) == []  # control
    attack: dict[str, Any]
    for attack in (
        {"containers": []},
        {"nodeSelector": {"workload-type": "gpu"}, "containers": []},
        {"nodeSelector": {"pingvas.io/preview": "false"}, "containers": []},
        {**on_preview, "nodeName": "ip-10-0-11-5.ec2.internal"},  # skips the scheduler
    ):
        assert refusals(shared, attack, PREVIEW_NAMESPACE), attack
    # A scheduled pod's later updates carry its node: not refused for it.
    bound = {**on_preview, "nodeName": "ip-10-0-11-5.ec2.internal"}
    assert refusals(shared, bound, PREVIEW_NAMESPACE, operation="UPDATE") == []


@pytest.mark.parametrize("namespace", [DEV_NAMESPACE, PROD_NAMESPACE])
def test_another_environments_pod_tolerating_the_preview_taint_is_refused(
    shared: OfflineRun, namespace: dict[str, Any]
) -> None:
    plain: dict[str, Any] = {
        "containers": [],
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}],
    }
    assert refusals(shared, plain, namespace) == []  # control
    for toleration in (
        {"key": "pingvas.io/preview", "operator": "Equal", "value": "true", "effect": "NoSchedule"},
        {"key": "pingvas.io/preview", "operator": "Exists"},
        {"operator": "Exists"},  # a key-less Exists tolerates every taint
        {"key": "", "operator": "Exists", "effect": "NoSchedule"},
    ):
        attack = copy.deepcopy(plain)
        attack["tolerations"].append(toleration)
        attack["nodeSelector"] = {"pingvas.io/preview": "true"}
        assert refusals(shared, attack, namespace), toleration


def test_the_policy_binds_to_every_environment_namespace(shared: OfflineRun) -> None:
    (binding,) = [
        b
        for b in shared.of_type(BINDING)
        if b.inputs["spec"]["policyName"] == "pingvas-preview-nodes"
    ]
    expressions = binding.inputs["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]
    assert expressions == [{"key": "pingvas.io/environment", "operator": "Exists"}]
    rules = policy(shared)["matchConstraints"]["resourceRules"]
    assert [(r["resources"], r["operations"]) for r in rules] == [(["pods"], ["CREATE", "UPDATE"])]
    assert binding.inputs["spec"]["validationActions"] == ["Deny"]


# --- controls: what the stacks and charts make ---------------------------------------------


def test_pr7_schedules_only_on_the_preview_pools_and_is_admitted(shared: OfflineRun) -> None:
    all_pools = pools(shared)
    specs = stack_pod_specs("pr-7")
    names = {name for name, _ in specs}
    assert any("worker" in n for n in names), names
    assert any("redis" in n for n in names), names
    for name, spec in specs:
        assert refusals(shared, spec, PREVIEW_NAMESPACE) == [], name
        landing = lands_on(spec, all_pools)
        assert landing, name
        assert landing <= PREVIEW_POOLS, (name, landing)
    gpu_pods = [spec for name, spec in specs if "worker" in name]
    assert all(lands_on(spec, all_pools) == {"preview-gpu"} for spec in gpu_pods)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_dev_and_prod_pods_never_land_on_a_preview_pool(shared: OfflineRun, stack: str) -> None:
    all_pools = pools(shared)
    namespace = DEV_NAMESPACE if stack == "dev" else PROD_NAMESPACE
    specs = stack_pod_specs(stack)
    assert specs
    for name, spec in specs:
        assert refusals(shared, spec, namespace) == [], name
        landing = lands_on(spec, all_pools)
        assert landing, name
        assert not landing & PREVIEW_POOLS, (name, landing)
