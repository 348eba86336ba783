"""Kubernetes-side isolation on the rendered chart (issue 12): what CrossGuard cannot see
inside the Helm release, checked on the manifests, and the platform's admission policies
(CEL, evaluated offline with cel-python) agreeing on the same manifests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.cluster.admission import SERVICE_TYPE_RULE, STORE_ROLE_RULE, ingress_host_rule
from infra.config import APEX_HOST_OWNER
from policy.kubernetes_checks import (
    external_services,
    foreign_ingress_hosts,
    foreign_secret_stores,
)
from tests.support.cel import evaluate
from tests.support.chart import STACKS, Render
from tests.support.stacks import run_stack

DOMAIN = "pingvas.example.com"


def domain() -> str:
    domain_: str = run_stack("shared").outputs["domain"]
    return domain_


@pytest.mark.parametrize("stack", STACKS)
def test_the_rendered_chart_stays_in_its_namespace(renders: dict[str, Render], stack: str) -> None:
    manifests = renders[stack].manifests
    assert external_services(manifests) == []
    assert foreign_secret_stores(manifests, stack) == []
    assert foreign_ingress_hosts(manifests, stack, domain()) == []
    assert renders[stack].of_kind("Ingress"), "the checks saw no Ingress"
    assert renders[stack].of_kind("ExternalSecret"), "the checks saw no ExternalSecret"
    for ingress in renders[stack].of_kind("Ingress"):
        annotations = ingress["metadata"]["annotations"]
        if stack == "pr-7":  # the platform's shared preview ALB, which it may not change
            assert "alb.ingress.kubernetes.io/security-groups" not in annotations
            continue
        alb = run_stack("shared").outputs["securityGroupIds"]["alb"]
        assert annotations["alb.ingress.kubernetes.io/security-groups"] == alb


def test_the_checks_catch_what_they_exist_for(renders: dict[str, Render]) -> None:
    manifests = copy.deepcopy(renders["pr-7"].manifests)
    service = next(m for m in manifests if m["kind"] == "Service")
    service["spec"]["type"] = "LoadBalancer"
    external = next(m for m in manifests if m["kind"] == "ExternalSecret")
    external["spec"]["secretStoreRef"] = {"kind": "ClusterSecretStore", "name": "everything"}
    ingress = next(m for m in manifests if m["kind"] == "Ingress")
    ingress["spec"]["rules"][0]["host"] = f"api.{DOMAIN}"  # prod's host
    assert len(external_services(manifests)) == 1
    assert len(foreign_secret_stores(manifests, "pr-7")) == 1
    assert foreign_ingress_hosts(manifests, "pr-7", DOMAIN) == [
        f"Ingress/{ingress['metadata']['name']} claims 'api.{DOMAIN}', outside pr-7's names"
    ]


def admits(expression: str, namespace: str, manifest: dict[str, Any]) -> bool:
    context = {"object": manifest, "namespaceObject": {"metadata": {"name": namespace}}}
    return bool(evaluate(expression, context))


@pytest.mark.parametrize("stack", STACKS)
def test_the_admission_policies_admit_the_chart(renders: dict[str, Render], stack: str) -> None:
    # pr-<N> Ingresses answer to the preview edge's own policy (test_preview_ingress.py).
    for ingress in renders[stack].of_kind("Ingress") if stack != "pr-7" else []:
        assert admits(ingress_host_rule(domain(), APEX_HOST_OWNER), stack, ingress)
    for service in renders[stack].of_kind("Service"):
        assert admits(SERVICE_TYPE_RULE, stack, service)


@pytest.mark.parametrize(
    ("namespace", "host", "admitted"),
    [
        ("dev", f"api.dev.{DOMAIN}", True),
        ("prod", f"api.{DOMAIN}", True),
        ("pr-7", f"api.pr-7.{DOMAIN}", True),
        ("pr-7", f"api.{DOMAIN}", False),  # prod's
        ("pr-7", f"api.dev.{DOMAIN}", False),  # dev's
        ("pr-7", f"api.pr-70.{DOMAIN}", False),
        ("prod", f"api.dev.{DOMAIN}", False),
        ("dev", "api.dev.example.org", False),
    ],
)
def test_ingress_hosts_stay_in_their_environment(namespace: str, host: str, admitted: bool) -> None:
    ingress = {"spec": {"rules": [{"host": host}]}}
    assert admits(ingress_host_rule(DOMAIN, APEX_HOST_OWNER), namespace, ingress) is admitted


@pytest.mark.parametrize(
    ("namespace", "role", "external_id", "admitted"),
    [
        ("pr-7", "arn:aws:iam::1:role/pingvas-pr-7-tenancy-secret-store-abc", "pr-7", True),
        ("pr-7", "arn:aws:iam::1:role/pingvas-prod-tenancy-secret-store-abc", "pr-7", False),
        ("pr-7", "arn:aws:iam::1:role/pingvas-pr-7-tenancy-secret-store-abc", "prod", False),
        ("pr-7", "arn:aws:iam::1:role/pingvas-shared-schema-owners-secret-store-a", "pr-7", False),
        ("pr-7", "arn:aws:iam::1:role/pingvas-pr-70-tenancy-secret-store-abc", "pr-7", False),
    ],
)
def test_secret_stores_name_only_their_namespace(
    namespace: str, role: str, external_id: str, admitted: bool
) -> None:
    store = {"spec": {"provider": {"aws": {"role": role, "externalID": external_id}}}}
    assert admits(STORE_ROLE_RULE, namespace, store) is admitted


@pytest.mark.parametrize(
    ("kind", "admitted"), [("ClusterIP", True), ("LoadBalancer", False), ("NodePort", False)]
)
def test_services_stay_behind_the_alb(kind: str, admitted: bool) -> None:
    assert admits(SERVICE_TYPE_RULE, "dev", {"spec": {"type": kind}}) is admitted
