"""Scoped deployers (issue 12, guarantee 4), over the offline previews: each environment
stack reaches the cluster as its own deployer role, whose EKS access is scoped to its
namespace; what Edit lacks comes through one ClusterRole, held to the deployer's own
names by an admission policy whose CEL is evaluated here with a CEL interpreter."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from components.delivery.deployers import (
    EDIT_POLICY,
    PRIORITY_POLICY,
    SCOPE_POLICY,
)
from pulumi_offline import OfflineRun, RecordedResource
from tests.support.admission import refusals, spec_of
from tests.support.cel import evaluate
from tests.support.chart import release_values, render
from tests.support.stacks import run_stack

BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
ACCOUNT = "123456789012"
# Deploy scope → the namespaces its access policy names (previews: none, their rights are
# RoleBindings in their own namespace, tests/infra/test_preview_isolation.py).
SCOPES = {"dev": ["dev"], "prod": ["prod"], "pr": []}


def deployer_role(shared: OfflineRun, scope: str) -> RecordedResource:
    (role,) = [
        r
        for r in shared.of_type("aws:iam/role:Role")
        if r.inputs.get("name") == f"pingvas-shared-deployer-{scope}"
    ]
    return role


def role_arn(shared: OfflineRun, scope: str) -> str:
    arn: str = shared.outputs["deployerRoleArns"][scope]
    return arn


def namespace_object(name: str, preview: bool = False, **labels: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {
                "pingvas.io/environment": name,
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
                **({"pingvas.io/preview": "true"} if preview else {}),
                **labels,
            },
        }
    }


# --- AWS side: roles, access entries, scopes, trust ---------------------------------------


@pytest.mark.parametrize(("scope", "namespaces"), SCOPES.items())
def test_each_deployer_can_edit_only_its_namespaces(
    shared: OfflineRun, scope: str, namespaces: list[str]
) -> None:
    arn = role_arn(shared, scope)
    (entry,) = [
        e
        for e in shared.of_type("aws:eks/accessEntry:AccessEntry")
        if e.inputs["principalArn"] == arn
    ]
    assert entry.inputs["type"] == "STANDARD"
    assert entry.inputs["kubernetesGroups"] == [f"pingvas:deployer:{scope}"]
    associations = [
        a
        for a in shared.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        if a.inputs["principalArn"] == arn
    ]
    assert [(a.inputs["policyArn"], a.inputs["accessScope"]) for a in associations] == [
        (
            f"arn:aws:eks::aws:cluster-access-policy/{EDIT_POLICY}",
            {"type": "namespace", "namespaces": namespaces},
        )
    ][: len(namespaces)]


def test_no_deployer_is_a_cluster_admin(shared: OfflineRun) -> None:
    deployers = {role_arn(shared, scope) for scope in SCOPES}
    for association in shared.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
        if association.inputs["principalArn"] in deployers:
            assert association.inputs["accessScope"]["type"] == "namespace"
            assert "ClusterAdmin" not in association.inputs["policyArn"]


@pytest.mark.parametrize("scope", SCOPES)
def test_deployer_roles_trust_only_their_scopes_deploy_role(shared: OfflineRun, scope: str) -> None:
    trust = json.loads(deployer_role(shared, scope).inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert statement["Action"] == "sts:AssumeRole"
    # GitHub Actions' deploy role of the same scope (stacks/delivery.py's naming); the
    # shared stack declares no cluster admins.
    assert statement["Condition"] == {
        "ArnLike": {
            "aws:PrincipalArn": [f"arn:aws:iam::{ACCOUNT}:role/pingvas-shared-deploy-{scope}"]
        },
        # A preview's session is named for its pull request (its Kubernetes username).
        **(
            {"StringEquals": {"sts:RoleSessionName": "pr-${aws:PrincipalTag/pr}"}}
            if scope == "pr"
            else {}
        ),
    }


@pytest.mark.parametrize(("stack", "scope"), [("dev", "dev"), ("prod", "prod"), ("pr-7", "pr")])
def test_the_environment_deploys_as_its_own_deployer(stack: str, scope: str) -> None:
    shared = run_stack("shared")
    (provider,) = run_stack(stack).of_type("pulumi:providers:kubernetes")
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    (user,) = kubeconfig["users"]
    assert set(user["user"]) == {"exec"}  # no token, no client certificate
    args = user["user"]["exec"]["args"]
    assert args[:2] == ["eks", "get-token"]
    # The profile its deploy job writes as the scope's deployer (the review workflow's: the
    # deployer, session `pr-<N>`); an argument, as AWS_PROFILE loses to the job's own
    # credentials. No role in the state: the drift check signs the same kubeconfig as its
    # drift role.
    assert "--role-arn" not in args
    assert "env" not in user["user"]["exec"]
    profile = "pingvas-preview-deployer" if scope == "pr" else f"pingvas-{stack}-cluster"
    assert args[args.index("--profile") + 1] == profile
    assert role_arn(shared, scope)  # the deployer the profile assumes exists
    assert args[args.index("--cluster-name") + 1] == shared.outputs["clusterName"]
    (cluster,) = kubeconfig["clusters"]
    assert cluster["cluster"]["server"] == shared.outputs["clusterEndpoint"]
    assert cluster["cluster"]["certificate-authority-data"]


def test_the_platform_owns_the_priority_classes(shared: OfflineRun) -> None:
    classes = {
        c.inputs["metadata"]["name"]: c.inputs["value"]
        for c in shared.of_type("kubernetes:scheduling.k8s.io/v1:PriorityClass")
    }
    assert classes == {"dev-low": 100_000, "prod-high": 1_000_000, "ephemeral-low": 10_000}
    for stack in ("dev", "prod", "pr-7"):
        assert run_stack(stack).of_type("kubernetes:scheduling.k8s.io/v1:PriorityClass") == []


def test_the_deployer_cluster_role_grants_no_secrets_rbac_or_wildcards(shared: OfflineRun) -> None:
    role = shared.one(
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        "pingvas-shared-deployer-cluster-objects",
    )
    granted = {
        (group, resource): set(rule["verbs"])
        for rule in role.inputs["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert not any("*" in key or "*" in verbs for key, verbs in granted.items())
    assert not {"secrets", "roles", "rolebindings", "clusterroles"} & {r for _, r in granted}
    assert granted[("scheduling.k8s.io", "priorityclasses")] == {"get", "list", "watch"}
    binding = shared.one(
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        "pingvas-shared-deployer-cluster-objects",
    )
    assert {s["name"] for s in binding.inputs["subjects"]} == {
        f"pingvas:deployer:{scope}" for scope in SCOPES if scope != "pr"
    }
    bindings = {b.inputs["metadata"]["name"]: b for b in shared.of_type(BINDING)}
    assert bindings[SCOPE_POLICY].inputs["spec"]["validationActions"] == ["Deny"]
    assert bindings[PRIORITY_POLICY].inputs["spec"]["validationActions"] == ["Deny"]


# --- Kubernetes side: the admission policy on the deployers' writes ----------------------


@pytest.mark.parametrize(
    ("scope", "name", "admitted"),
    [
        ("pr", "pr-7", True),
        ("pr", "prod", False),
        ("pr", "dev", False),
        ("pr", "pr-7x", False),
        ("pr", "pr-", False),
        ("pr", "preview", False),
        ("pr", "kube-system", False),
        ("dev", "dev", True),
        ("dev", "prod", False),
        ("dev", "pr-7", False),
        ("prod", "prod", True),
    ],
)
def test_a_deployer_creates_only_its_own_namespace(
    shared: OfflineRun, scope: str, name: str, admitted: bool
) -> None:
    spec = spec_of(shared, SCOPE_POLICY)
    obj = namespace_object(name, preview=scope == "pr")
    assert (refusals(spec, scope=scope, resource="namespaces", obj=obj) == []) is admitted


@pytest.mark.parametrize(
    ("labels", "preview"),
    [
        ({"pod-security.kubernetes.io/enforce": "privileged"}, True),
        ({"pingvas.io/environment": "prod"}, True),
        ({}, False),  # a preview namespace without the preview label
    ],
)
def test_a_preview_namespace_keeps_its_labels(
    shared: OfflineRun, labels: dict[str, str], preview: bool
) -> None:
    spec = spec_of(shared, SCOPE_POLICY)
    obj = namespace_object("pr-7", preview=preview, **labels)
    assert refusals(spec, scope="pr", resource="namespaces", obj=obj)
    assert refusals(spec, scope="pr", resource="namespaces", operation="UPDATE", obj=obj)


def test_a_deployer_deletes_only_its_own_namespace(shared: OfflineRun) -> None:
    spec = spec_of(shared, SCOPE_POLICY)
    for scope, name, admitted in (
        ("pr", "pr-7", True),
        ("pr", "prod", False),
        ("dev", "prod", False),
    ):
        old = namespace_object(name, preview=name.startswith("pr-"))
        found = refusals(spec, scope=scope, resource="namespaces", operation="DELETE", old=old)
        assert (found == []) is admitted, (scope, name)


@pytest.mark.parametrize(
    ("scope", "namespace", "admitted"),
    [("dev", "dev", True), ("dev", "prod", False), ("pr", "pr-7", True), ("pr", "dev", False)],
)
def test_a_deployer_changes_quotas_only_in_its_namespace(
    shared: OfflineRun, scope: str, namespace: str, admitted: bool
) -> None:
    spec = spec_of(shared, SCOPE_POLICY)
    quota = {"metadata": {"name": "quota", "namespace": namespace}, "spec": {"hard": {}}}
    for operation in ("CREATE", "DELETE"):
        found = refusals(
            spec,
            scope=scope,
            resource="resourcequotas",
            operation=operation,
            obj=quota if operation == "CREATE" else None,
            old=quota if operation == "DELETE" else None,
            namespace=namespace,
        )
        assert (found == []) is admitted


@pytest.mark.parametrize("stack", ["dev", "prod", "pr-7"])
def test_the_deployer_may_write_what_its_stack_makes(shared: OfflineRun, stack: str) -> None:
    """Every cluster-scoped object and guard the environment stack and its chart create
    is admitted for its own deployer: the scoped identity can really deploy it."""
    spec = spec_of(shared, SCOPE_POLICY)
    scope = "pr" if stack.startswith("pr-") else stack
    kinds = {
        "kubernetes:core/v1:Namespace": "namespaces",
        "kubernetes:core/v1:ResourceQuota": "resourcequotas",
        "kubernetes:core/v1:LimitRange": "limitranges",
    }
    objects = [
        (kinds[r.type], {"metadata": r.inputs["metadata"], "spec": r.inputs.get("spec")})
        for r in run_stack(stack).resources
        if r.type in kinds
    ]
    objects += [
        ("persistentvolumes", volume)
        for volume in render(stack, release_values(stack)).of_kind("PersistentVolume")
    ]
    assert {kind for kind, _ in objects} >= {"namespaces", "resourcequotas", "persistentvolumes"}
    for kind, obj in objects:
        namespace = obj["metadata"].get("namespace", "")
        assert refusals(spec, scope=scope, resource=kind, obj=obj, namespace=namespace) == [], (
            kind,
            obj["metadata"]["name"],
        )


def test_ingress_classes_are_the_platforms(shared: OfflineRun) -> None:
    """Issue 22, item 6: no deployer may create, change or delete an IngressClass or its
    IngressClassParams (else dev could move its class into prod's ALB group or drop the
    WAF): its ClusterRole grants neither, and Edit, scoped to namespaces, reaches no
    cluster-scoped object. The platform makes every environment's class (the control)."""
    roles = [
        role
        for role in shared.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
        if "-deployer-" in role.name  # the drift roles' read: test_drift_cluster_access.py
    ]
    assert len(roles) == 2, "the deployers' ClusterRole and the previews' own"
    granted = {
        (group, resource)
        for role in roles
        for rule in role.inputs["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert (
        not {
            ("networking.k8s.io", "ingressclasses"),
            ("elbv2.k8s.aws", "ingressclassparams"),
        }
        & granted
    )
    assert granted, "the deployers' ClusterRole has rules"
    spec = spec_of(shared, SCOPE_POLICY)
    matched = {r for rule in spec["matchConstraints"]["resourceRules"] for r in rule["resources"]}
    assert not {"ingressclasses", "ingressclassparams"} & matched
    classes = {
        c.inputs["metadata"]["name"]
        for c in shared.of_type("kubernetes:networking.k8s.io/v1:IngressClass")
    }
    assert classes == {"pingvas-dev-alb", "pingvas-prod-alb", "pingvas-shared-preview"}
    for stack in ("dev", "prod", "pr-7"):
        assert run_stack(stack).of_type("kubernetes:networking.k8s.io/v1:IngressClass") == []


def test_a_deployer_mounts_only_the_model_store_read_only(shared: OfflineRun) -> None:
    spec = spec_of(shared, SCOPE_POLICY)
    (volume,) = render("dev", release_values("dev")).of_kind("PersistentVolume")
    assert refusals(spec, scope="dev", resource="persistentvolumes", obj=volume) == []
    host_path = copy.deepcopy(volume)
    del host_path["spec"]["csi"]
    host_path["spec"]["hostPath"] = {"path": "/"}
    writable = copy.deepcopy(volume)
    writable["spec"]["csi"]["readOnly"] = False
    other_volume = copy.deepcopy(volume)
    other_volume["spec"]["csi"]["volumeHandle"] = "fs-0123::fsap-0123"
    foreign_claim = copy.deepcopy(volume)
    foreign_claim["spec"]["claimRef"]["namespace"] = "prod"
    for bad in (host_path, writable, other_volume, foreign_claim):
        assert refusals(spec, scope="dev", resource="persistentvolumes", obj=bad)
    # Nor may it delete another environment's volume.
    (prod_volume,) = render("prod", release_values("prod")).of_kind("PersistentVolume")
    for scope, admitted in (("dev", False), ("pr", False), ("prod", True)):
        found = refusals(
            spec, scope=scope, resource="persistentvolumes", operation="DELETE", old=prod_volume
        )
        assert (found == []) is admitted, scope


@pytest.mark.parametrize(
    ("namespace", "priority_class", "admitted"),
    [
        ("pr-7", "ephemeral-low", True),
        ("pr-7", "prod-high", False),
        ("pr-7", "system-cluster-critical", False),
        ("dev", "dev-low", True),
        ("dev", "prod-high", False),
        ("prod", "prod-high", True),
        ("staging", "dev-low", False),  # an environment the platform does not know
        ("pr-7", None, True),
    ],
)
def test_pods_use_only_their_environments_priority(
    shared: OfflineRun, namespace: str, priority_class: str | None, admitted: bool
) -> None:
    (rule,) = spec_of(shared, PRIORITY_POLICY)["validations"]
    pod: dict[str, Any] = {"spec": {"containers": []}}
    if priority_class:
        pod["spec"]["priorityClassName"] = priority_class
    context = {"object": pod, "namespaceObject": {"metadata": {"name": namespace}}}
    assert bool(evaluate(rule["expression"], context)) is admitted


def test_a_volume_update_is_judged_on_the_volume_it_changes(shared: OfflineRun) -> None:
    """Issue 22, item 6: a preview may not rebind prod's models volume by rewriting its
    claim to its own namespace (the new object alone would pass), nor rename or re-claim
    its own; a deployer may re-apply its own volume unchanged."""
    spec = spec_of(shared, SCOPE_POLICY)
    (prod_volume,) = render("prod", release_values("prod")).of_kind("PersistentVolume")
    (own,) = render("pr-7", release_values("pr-7")).of_kind("PersistentVolume")

    def update(scope: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
        return refusals(
            spec, scope=scope, resource="persistentvolumes", operation="UPDATE", obj=new, old=old
        )

    taken = copy.deepcopy(prod_volume)
    taken["spec"]["claimRef"] = copy.deepcopy(own["spec"]["claimRef"])
    assert update("pr", prod_volume, taken)
    assert update("dev", prod_volume, taken)
    reclaimed = copy.deepcopy(own)
    reclaimed["spec"]["claimRef"]["name"] = "another-claim"
    assert update("pr", own, reclaimed)
    moved = copy.deepcopy(own)
    moved["spec"]["claimRef"]["namespace"] = "pr-8"  # another preview's, still in scope
    assert update("pr", own, moved)
    unclaimed = copy.deepcopy(own)
    del unclaimed["spec"]["claimRef"]
    assert update("pr", unclaimed, own), "an unclaimed volume is nobody's to take"
    # Controls: the owner re-applies its volume; prod's deployer its own.
    assert update("pr", own, copy.deepcopy(own)) == []
    assert update("prod", prod_volume, copy.deepcopy(prod_volume)) == []
