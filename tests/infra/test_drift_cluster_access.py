"""Issue 23 item 6: what each drift role may do in the cluster, evaluated from the offline
preview of `shared` as EKS authorizes it: an access entry's access policy (EKS's copy of a
Kubernetes ClusterRole, limited to the association's namespaces) or the ClusterRoles bound
to the entry's groups. The platform's role reads every object; dev's and prod's read their
own namespace without its Secrets, and their own Namespace object, and write nothing (the
threat model, docs/security.md: a main-branch workflow holding dev's drift role must not
reach prod, nor the payment and OAuth secrets its own namespace syncs). Each attack beside
an allowed control.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.delivery.deploy_policies import DEPLOY_SCOPES
from components.delivery.drift_roles import (
    CLUSTER_READ_POLICY,
    NAMESPACE_READ_POLICY,
    drift_scopes,
)
from infra.config import PLATFORM_STACK
from pulumi_offline import OfflineRun
from tests.support.stacks import run_stack
from tools import drift_check

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENTS = sorted(s.stack for s in drift_scopes(PLATFORM_STACK, DEPLOY_SCOPES) if s.state_key)
READS = ("get", "list", "watch")
WRITES = ("create", "update", "patch", "delete", "deletecollection")
# The rules of the EKS access policies the drift roles hold, from AWS's table
# (https://docs.aws.amazon.com/eks/latest/userguide/access-policy-permissions.html):
# AdminView is every resource, read verbs (Secrets included); View mirrors Kubernetes'
# `view`, vendored from Kubernetes' bootstrap policy.
ACCESS_POLICIES: dict[str, list[dict[str, Any]]] = {
    CLUSTER_READ_POLICY: [{"apiGroups": ["*"], "resources": ["*"], "verbs": list(READS)}],
    NAMESPACE_READ_POLICY: yaml.safe_load((ROOT / "vendor/eks/aggregate-to-view.yaml").read_text())[
        0
    ]["rules"],
}


@dataclass(frozen=True)
class Ask:
    """A Kubernetes API request's authorization attributes."""

    verb: str
    resource: str
    namespace: str = ""  # "" for a cluster-scoped object
    name: str = ""
    group: str = ""


def matches(rule: dict[str, Any], ask: Ask) -> bool:
    """RBAC's rule match (k8s.io/component-helpers/auth/rbac/validation: `*` matches any;
    resourceNames bind only requests that name an object)."""

    def has(values: list[str], value: str) -> bool:
        return "*" in values or value in values

    names = rule.get("resourceNames") or []
    return (
        has(rule.get("verbs", []), ask.verb)
        and has(rule.get("apiGroups", []), ask.group)
        and has(rule.get("resources", []), ask.resource)
        and (not names or (bool(ask.name) and ask.name in names))
    )


def entry_of(shared: OfflineRun, stack: str) -> Any:
    return shared.one("aws:eks/accessEntry:AccessEntry", f"pingvas-shared-deploy-drift-{stack}")


def allowed(shared: OfflineRun, stack: str, ask: Ask) -> bool:
    """Whether EKS lets the stack's drift role make the request."""
    entry = entry_of(shared, stack)
    principal = entry.inputs["principalArn"]
    for association in shared.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
        if association.inputs["principalArn"] != principal:
            continue
        scope = association.inputs["accessScope"]
        # A namespace scope reaches only objects in those namespaces.
        if scope["type"] == "namespace" and ask.namespace not in scope["namespaces"]:
            continue
        policy = association.inputs["policyArn"].rsplit("/", 1)[1]
        if any(matches(rule, ask) for rule in ACCESS_POLICIES[policy]):
            return True
    groups = set(entry.inputs.get("kubernetesGroups") or [])
    roles = {
        r.inputs["metadata"]["name"]: r
        for r in shared.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    }
    for binding in shared.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"):
        if groups & {s["name"] for s in binding.inputs["subjects"] if s["kind"] == "Group"}:
            role = roles[binding.inputs["roleRef"]["name"]]
            if any(matches(rule, ask) for rule in role.inputs["rules"]):
                return True
    return False


def other(stack: str) -> str:
    return next(e for e in ENVIRONMENTS if e != stack)


def test_the_platforms_drift_role_reads_every_object_and_writes_none(shared: OfflineRun) -> None:
    assert allowed(shared, PLATFORM_STACK, Ask("get", "secrets", "prod", "x")), "control"
    assert allowed(shared, PLATFORM_STACK, Ask("list", "nodepools", group="karpenter.sh"))
    for verb in WRITES:
        assert not allowed(shared, PLATFORM_STACK, Ask(verb, "configmaps", "kube-system", "x"))
    assert entry_of(shared, PLATFORM_STACK).inputs.get("kubernetesGroups") in (None, [])


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_an_environments_drift_role_reads_every_object_its_refresh_reads(
    shared: OfflineRun, stack: str
) -> None:
    """Control: each Kubernetes object of the stack that its refresh does not leave out is
    readable by name in its namespace; the Namespace object through its ClusterRole."""
    scope = drift_check.scope_of(stack)
    assert scope is not None
    left_out = {glob.split("::")[0].lstrip("*") for glob in scope.excluded}
    objects = [
        r
        for r in run_stack(stack).resources
        if r.type.startswith("kubernetes:") and r.type not in left_out
    ]
    assert {r.type for r in objects} >= {
        "kubernetes:core/v1:Namespace",
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    }
    for resource in objects:
        api, kind = resource.type.split(":")[1], resource.type.split(":")[2]
        group = "" if api.startswith("core/") else api.split("/")[0]
        plural = kind.lower()[:-1] + "ies" if kind.endswith("y") else kind.lower() + "s"
        metadata = resource.inputs["metadata"]
        ask = Ask("get", plural, metadata.get("namespace", ""), metadata["name"], group)
        assert allowed(shared, stack, ask), ask


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_an_environments_drift_role_writes_nothing_in_the_cluster(
    shared: OfflineRun, stack: str
) -> None:
    asks = [
        Ask(verb, resource, stack, "x", group)
        for verb in WRITES
        for group, resource in (
            ("", "configmaps"),
            ("", "secrets"),
            ("", "resourcequotas"),
            ("networking.k8s.io", "networkpolicies"),
            ("apps", "deployments"),
            ("rbac.authorization.k8s.io", "rolebindings"),
        )
    ]
    asks += [Ask(verb, "namespaces", "", stack) for verb in WRITES]
    asks += [Ask("create", "pods/exec", stack, "x"), Ask("impersonate", "serviceaccounts", stack)]
    for ask in asks:
        assert not allowed(shared, stack, ask), ask
    assert allowed(shared, stack, Ask("get", "networkpolicies", stack, "x", "networking.k8s.io"))


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_an_environments_drift_role_reads_no_secret_and_nothing_of_another(
    shared: OfflineRun, stack: str
) -> None:
    """Dev's drift role cannot read prod's Secrets, nor prod's objects or Namespace, nor
    its own namespace's Secrets (listing them is what a Helm release's refresh needs: the
    release is left out), nor SecretStores; its own objects are the control."""
    theirs = other(stack)
    attacks = [
        Ask("get", "secrets", theirs, "pingvas-secrets"),
        Ask("list", "secrets", theirs),
        Ask("get", "networkpolicies", theirs, "default-deny", "networking.k8s.io"),
        Ask("get", "namespaces", "", theirs),
        Ask("get", "secrets", stack, "pingvas-secrets"),
        Ask("list", "secrets", stack),
        Ask("get", "secretstores", stack, "aws-secrets-manager", "external-secrets.io"),
        Ask("list", "namespaces"),
        Ask("get", "secrets", "kube-system", "x"),
    ]
    for ask in attacks:
        assert not allowed(shared, stack, ask), ask
    assert allowed(shared, stack, Ask("get", "namespaces", "", stack)), "control"
    assert allowed(shared, stack, Ask("get", "resourcequotas", stack, "quota")), "control"
    assert allowed(shared, theirs, Ask("get", "resourcequotas", theirs, "quota")), "control"


@pytest.mark.parametrize("stack", ENVIRONMENTS)
def test_an_environments_drift_access_is_namespace_scoped_with_its_own_group(
    shared: OfflineRun, stack: str
) -> None:
    entry = entry_of(shared, stack)
    assert entry.inputs["kubernetesGroups"] == [f"pingvas:drift:{stack}"]
    (association,) = [
        a
        for a in shared.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if a.inputs["principalArn"] == entry.inputs["principalArn"]
    ]
    assert association.inputs["accessScope"] == {"type": "namespace", "namespaces": [stack]}
    assert association.inputs["policyArn"].endswith(f"/{NAMESPACE_READ_POLICY}")
    # The vendored view role reads no Secret and writes nothing (the control: AdminView
    # reads Secrets).
    view = ACCESS_POLICIES[NAMESPACE_READ_POLICY]
    assert not any(matches(rule, Ask("get", "secrets", stack, "x")) for rule in view)
    assert {verb for rule in view for verb in rule["verbs"]} == set(READS)
    admin_view = ACCESS_POLICIES[CLUSTER_READ_POLICY]
    assert any(matches(rule, Ask("get", "secrets", stack, "x")) for rule in admin_view)


def test_the_rule_match_honours_resource_names() -> None:
    rule = {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["dev"]}
    rule["verbs"] = ["get"]
    assert matches(rule, Ask("get", "namespaces", name="dev"))
    assert not matches(rule, Ask("get", "namespaces", name="prod"))
    assert not matches(rule, Ask("list", "namespaces"))
    assert not matches(rule, Ask("get", "namespaces"))  # no name: resourceNames deny
