"""The platform's shared edge for previews (issue 17): one wildcard certificate, one
ingress group, and admission rules that keep each preview to its own host. The rules'
CEL is evaluated here with a CEL interpreter against the Ingresses a preview could send."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.conventions import PREVIEW_LABEL
from components.edge.preview_ingress import ANCHOR_NAMESPACE
from pulumi_offline import OfflineRun, RecordedResource
from tests.support.cel import evaluate
from tests.support.chart import release_values, render
from tests.support.crds import crd_errors
from tests.support.stacks import run_stack

POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
DOMAIN = "pingvas.example.com"
OWN_HOST = f"pr-7.pr.{DOMAIN}"


def policy(shared: OfflineRun, name: str) -> RecordedResource:
    (found,) = [p for p in shared.of_type(POLICY) if p.inputs["metadata"]["name"] == name]
    return found


def admits(spec: dict[str, Any], obj: dict[str, Any], namespace: str = "pr-7") -> list[str]:
    """The messages of the validations `obj` fails (empty: the API server admits it)."""
    context: dict[str, Any] = {"object": obj, "namespaceObject": {"metadata": {"name": namespace}}}
    variables: dict[str, Any] = {}
    for variable in spec.get("variables", []):
        variables[variable["name"]] = evaluate(variable["expression"], context, variables)
    failed = []
    for rule in spec["validations"]:
        if not bool(evaluate(rule["expression"], context, variables)):
            failed.append(rule.get("message") or rule["messageExpression"])
    return failed


def ingress(host: str | None = OWN_HOST, **changes: Any) -> dict[str, Any]:
    """An Ingress as the app chart renders it for pr-7."""
    rule: dict[str, Any] = {"http": {"paths": [{"path": "/api/users", "pathType": "Prefix"}]}}
    if host is not None:
        rule["host"] = host
    obj: dict[str, Any] = {
        "metadata": {
            "name": "api-users",
            "annotations": {
                "alb.ingress.kubernetes.io/group.name": "pingvas-shared-preview",
                "alb.ingress.kubernetes.io/group.order": "1",
                "alb.ingress.kubernetes.io/target-type": "ip",
                "alb.ingress.kubernetes.io/healthcheck-path": "/healthz",
                "alb.ingress.kubernetes.io/success-codes": "200",
            },
        },
        "spec": {"ingressClassName": "pingvas-shared-preview", "rules": [rule]},
    }
    for path, value in changes.items():
        target = obj
        *parents, leaf = path.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return obj


def test_wildcard_certificate_and_one_shared_group(shared: OfflineRun) -> None:
    certificate = shared.one(
        "aws:acm/certificate:Certificate", "pingvas-shared-preview-certificate"
    )
    assert certificate.inputs["domainName"] == f"*.pr.{DOMAIN}"
    params = shared.one(
        "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams", "pingvas-shared-preview-alb-params"
    )
    resource = {
        k: copy.deepcopy(params.inputs[k]) for k in ("apiVersion", "kind", "metadata", "spec")
    }
    assert crd_errors(resource) == []
    spec = params.inputs["spec"]
    assert spec["group"] == {"name": shared.outputs["previewIngressGroup"]}
    assert spec["namespaceSelector"] == {"matchLabels": {PREVIEW_LABEL: "true"}}
    assert spec["wafv2AclArn"] == shared.outputs["wafAclArn"]
    validation = shared.one(
        "aws:acm/certificateValidation:CertificateValidation", "pingvas-shared-preview-certificate"
    )
    assert spec["certificateArn"] == [validation.inputs["certificateArn"]]
    # The anchor keeps the group's load balancer up while no preview exists: 404 for all.
    anchor = shared.one("kubernetes:networking.k8s.io/v1:Ingress", "pingvas-shared-preview-anchor")
    assert anchor.inputs["metadata"]["namespace"] == ANCHOR_NAMESPACE
    assert anchor.inputs["spec"]["ingressClassName"] == shared.outputs["previewIngressClass"]
    assert anchor.inputs["spec"]["defaultBackend"]["service"]["port"] == {"name": "use-annotation"}


def test_admission_rules_bind_to_every_preview_namespace_but_the_anchor(
    shared: OfflineRun,
) -> None:
    bindings = {
        b.inputs["spec"]["policyName"]: b
        for b in shared.of_type(BINDING)
        # The environments' own rules (components/cluster/admission.py, `pingvas-preview-nodes`
        # among them) bind by another label.
        if b.inputs["spec"]["policyName"].startswith("pingvas-preview-")
        and b.inputs["spec"]["policyName"] != "pingvas-preview-nodes"
    }
    assert set(bindings) == {"pingvas-preview-ingress", "pingvas-preview-services"}
    for name, binding in bindings.items():
        spec = binding.inputs["spec"]
        assert spec["validationActions"] == ["Deny"]
        assert spec["matchResources"]["namespaceSelector"]["matchExpressions"] == [
            {"key": PREVIEW_LABEL, "operator": "In", "values": ["true"]},
            {
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": [ANCHOR_NAMESPACE],
            },
        ]
        assert policy(shared, name).inputs["spec"]["failurePolicy"] == "Fail"


def test_a_preview_may_route_its_own_host(shared: OfflineRun) -> None:
    spec = policy(shared, "pingvas-preview-ingress").inputs["spec"]
    assert admits(spec, ingress()) == []
    assert admits(spec, ingress(spec__tls=[{"hosts": [OWN_HOST]}])) == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"host": f"pr-8.pr.{DOMAIN}"}, "every rule must name the preview host"),
        ({"host": f"api.{DOMAIN}"}, "every rule must name the preview host"),
        ({"host": f"*.pr.{DOMAIN}"}, "every rule must name the preview host"),
        ({"host": None}, "every rule must name the preview host"),
        ({"spec__tls": [{"hosts": [f"api.{DOMAIN}"]}]}, "TLS hosts must be"),
        (
            {"spec__defaultBackend": {"service": {"name": "x", "port": {"number": 80}}}},
            "a default backend",
        ),
        ({"spec__ingressClassName": "pingvas-prod-alb"}, "use the shared class"),
        (
            {
                "metadata__annotations": {
                    "alb.ingress.kubernetes.io/conditions.api": '[{"field":"host-header"}]'
                }
            },
            "only these load balancer annotations",
        ),
        (
            {"metadata__annotations": {"kubernetes.io/ingress.class": "pingvas-prod-alb"}},
            "only these load balancer annotations",
        ),
        (
            {"metadata__annotations": {"alb.ingress.kubernetes.io/group.name": "pingvas-prod"}},
            "join the group",
        ),
    ],
)
def test_a_preview_may_not_reach_beyond_its_host(
    shared: OfflineRun, change: dict[str, Any], why: str
) -> None:
    spec = policy(shared, "pingvas-preview-ingress").inputs["spec"]
    host = change.pop("host", OWN_HOST)
    refused = admits(spec, ingress(host, **change))
    assert refused, change
    assert any(why in message for message in refused), refused


@pytest.mark.parametrize(
    ("service_type", "admitted"),
    [
        ("ClusterIP", True),
        (None, True),
        ("LoadBalancer", False),
        ("NodePort", False),
        # An Ingress backend the controller would resolve to any name it holds.
        ("ExternalName", False),
    ],
)
def test_a_preview_makes_no_load_balancer_of_its_own(
    shared: OfflineRun, service_type: str | None, admitted: bool
) -> None:
    spec = policy(shared, "pingvas-preview-services").inputs["spec"]
    service: dict[str, Any] = {"metadata": {"name": "api"}, "spec": {}}
    if service_type is not None:
        service["spec"]["type"] = service_type
    assert (admits(spec, service) == []) is admitted


ALB = "alb.ingress.kubernetes.io/"


@pytest.mark.parametrize(
    ("annotation", "value", "admitted"),
    [
        ("group.order", "1000", True),
        ("success-codes", "200-399", True),
        ("success-codes", "200,204", True),
        ("healthcheck-path", "/api/healthz", True),
        # Values the controller cannot build (stopping the whole group) or that reach past
        # the preview's routes.
        ("group.order", "0", False),
        ("group.order", "1001", False),
        ("group.order", "-5", False),
        ("target-type", "instance", False),
        ("healthcheck-path", "healthz", False),
        ("healthcheck-path", "/a b", False),
        ("success-codes", "2xx", False),
        ("group.name", "pingvas-shared-preview-x", False),
        ("listen-ports", '[{"HTTP": 8080}]', False),
        ("scheme", "internal", False),
        ("load-balancer-attributes", "deletion_protection.enabled=false", False),
        ("wafv2-acl-arn", "", False),
    ],
)
def test_allowed_annotations_take_only_the_platforms_values(
    shared: OfflineRun, annotation: str, value: str, admitted: bool
) -> None:
    spec = policy(shared, "pingvas-preview-ingress").inputs["spec"]
    obj = ingress()
    obj["metadata"]["annotations"][ALB + annotation] = value
    assert (admits(spec, obj) == []) is admitted


def test_the_preview_host_is_the_stacks_own() -> None:
    assert run_stack("pr-7").outputs["edge"]["apiHostname"] == OWN_HOST


def test_the_charts_own_ingresses_and_services_are_admitted(shared: OfflineRun) -> None:
    """What the app chart really renders for pr-7 passes both rules."""
    chart = render("pr-7", release_values("pr-7"))
    ingresses = chart.of_kind("Ingress")
    assert len(ingresses) == 6  # one per API path
    for name, kinds in (("ingress", ingresses), ("services", chart.of_kind("Service"))):
        spec = policy(shared, f"pingvas-preview-{name}").inputs["spec"]
        for obj in kinds:
            assert admits(spec, obj) == [], obj["metadata"]["name"]
