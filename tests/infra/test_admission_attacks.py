"""Issue 22, item 6: the cluster paths a pull request's objects could take, each sent to
the admission policies recorded in the platform's offline preview and evaluated with a
real CEL implementation (cel-python): every attack is denied, and the platform's own
objects and the chart's are admitted (the controls)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.cluster.admission import MONITOR_FILE_FIELDS
from pulumi_offline import OfflineRun
from tests.support.cel import evaluate
from tests.support.chart import release_values, render
from tests.support.crds import CRDS
from tests.support.stacks import run_stack

POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
DOMAIN = "pingvas.example.com"  # Pulumi.shared.yaml
STACKS = ("dev", "prod", "pr-7")


def spec_of(shared: OfflineRun, name: str) -> dict[str, Any]:
    (found,) = [p for p in shared.of_type(POLICY) if p.inputs["metadata"]["name"] == name]
    spec: dict[str, Any] = found.inputs["spec"]
    return spec


def refusals(spec: dict[str, Any], obj: dict[str, Any], namespace: str) -> list[str]:
    """The messages of the validations `obj` fails in `namespace` (empty: admitted)."""
    context = {"object": obj, "namespaceObject": {"metadata": {"name": namespace}}}
    return [
        rule["message"]
        for rule in spec["validations"]
        if not bool(evaluate(rule["expression"], context))
    ]


# --- Service externalIPs, everywhere (CVE-2020-8554) -------------------------------------


def test_external_ips_are_refused_in_every_namespace(shared: OfflineRun) -> None:
    (binding,) = [
        b
        for b in shared.of_type(BINDING)
        if b.inputs["spec"]["policyName"] == "pingvas-external-ips"
    ]
    # No namespace selector: the platform's namespaces and kube-system too.
    assert "matchResources" not in binding.inputs["spec"]
    spec = spec_of(shared, "pingvas-external-ips")
    assert {r["resources"][0] for r in spec["matchConstraints"]["resourceRules"]} == {"services"}
    service = {"metadata": {"name": "dns"}, "spec": {"externalIPs": ["8.8.8.8"]}}
    for namespace in ("pr-7", "dev", "prod", "kube-system", "monitoring", "default"):
        assert refusals(spec, service, namespace), namespace


def test_the_platforms_and_the_charts_services_carry_no_external_ips(shared: OfflineRun) -> None:
    spec = spec_of(shared, "pingvas-external-ips")
    services = [
        (r.inputs["metadata"].get("namespace", "default"), r.inputs)
        for stack in ("shared", *STACKS)
        for r in run_stack(stack).of_type("kubernetes:core/v1:Service")
    ]
    services += [
        (stack, service)
        for stack in STACKS
        for service in render(stack, release_values(stack)).of_kind("Service")
    ]
    assert services, "the control saw no Service"
    for namespace, service in services:
        assert refusals(spec, service, namespace) == [], service["metadata"]["name"]
    assert refusals(spec, {"metadata": {"name": "x"}, "spec": {"externalIPs": []}}, "dev") == []


# --- Ingress TLS hosts, like rule hosts ----------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "tls_host", "admitted"),
    [
        ("dev", f"api.dev.{DOMAIN}", True),
        ("prod", f"api.{DOMAIN}", True),
        ("dev", f"api.{DOMAIN}", False),  # prod's, which ExternalDNS would publish
        ("dev", f"api.pr-7.{DOMAIN}", False),
        ("prod", f"api.dev.{DOMAIN}", False),
        ("dev", "api.dev.example.org", False),
    ],
)
def test_tls_hosts_stay_in_their_environment(
    shared: OfflineRun, namespace: str, tls_host: str, admitted: bool
) -> None:
    spec = spec_of(shared, "pingvas-ingress-hosts")
    own = f"api.dev.{DOMAIN}" if namespace == "dev" else f"api.{DOMAIN}"
    ingress = {"spec": {"rules": [{"host": own}], "tls": [{"hosts": [tls_host]}]}}
    assert (refusals(spec, ingress, namespace) == []) is admitted


def test_the_charts_ingresses_are_admitted_with_their_tls(shared: OfflineRun) -> None:
    spec = spec_of(shared, "pingvas-ingress-hosts")
    for stack in ("dev", "prod"):  # pr-<N>: the preview edge's policy (test_preview_ingress)
        ingresses = render(stack, release_values(stack)).of_kind("Ingress")
        assert ingresses
        for ingress in ingresses:
            with_tls = copy.deepcopy(ingress)
            hosts = [rule["host"] for rule in ingress["spec"]["rules"]]
            with_tls["spec"]["tls"] = [{"hosts": hosts}]
            assert refusals(spec, ingress, stack) == []
            assert refusals(spec, with_tls, stack) == []


# --- No ExternalName Services in environment namespaces ----------------------------------


@pytest.mark.parametrize(
    ("kind", "admitted"),
    [("ClusterIP", True), ("ExternalName", False), ("NodePort", False), ("LoadBalancer", False)],
)
def test_environment_services_are_cluster_ips(
    shared: OfflineRun, kind: str, admitted: bool
) -> None:
    spec = spec_of(shared, "pingvas-service-types")
    service = {"metadata": {"name": "api"}, "spec": {"type": kind}}
    if kind == "ExternalName":
        service["spec"]["externalName"] = "api.prod.svc.cluster.local"
    for namespace in STACKS:
        assert (refusals(spec, service, namespace) == []) is admitted


# --- Monitors: no Prometheus files, own namespace only ------------------------------------


def _file_fields(schema: dict[str, Any], path: str = "") -> set[str]:
    """Every property of a CRD schema whose name says it is a file path."""
    found = set()
    for key, child in (schema.get("properties") or {}).items():
        here = f"{path}.{key}" if path else key
        if key.lower().endswith("file"):
            found.add(here)
        found |= _file_fields(child, here)
        found |= _file_fields(child.get("items") or {}, here)
    return found


def test_the_rule_covers_every_file_field_of_the_servicemonitor_crd() -> None:
    """Data made by others: the vendored prometheus-operator CRD names the file fields."""
    crd = yaml.safe_load(
        Path(CRDS / "prometheus-operator/monitoring.coreos.com_servicemonitors.yaml").read_text()
    )
    (version,) = [v for v in crd["spec"]["versions"] if v["served"]]
    fields = _file_fields(version["schema"]["openAPIV3Schema"]["properties"]["spec"])
    assert {f.removeprefix("endpoints.") for f in fields} == set(MONITOR_FILE_FIELDS)


def _monitor(**endpoint: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "api"},
        "spec": {
            "selector": {"matchLabels": {"app": "api"}},
            "endpoints": [{"port": "metrics", **endpoint}],
        },
    }


@pytest.mark.parametrize(
    "endpoint",
    [
        {"bearerTokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"},
        {"tlsConfig": {"caFile": "/etc/prometheus/secrets/ca"}},
        {"tlsConfig": {"certFile": "/etc/prometheus/certs/cert"}},
        {"tlsConfig": {"keyFile": "/etc/prometheus/certs/key"}},
    ],
)
def test_a_monitor_may_not_read_prometheus_files(
    shared: OfflineRun, endpoint: dict[str, Any]
) -> None:
    spec = spec_of(shared, "pingvas-monitors")
    assert refusals(spec, _monitor(**endpoint), "pr-7")


@pytest.mark.parametrize(
    ("selector", "admitted"),
    [
        (None, True),
        ({"matchNames": ["pr-7"]}, True),
        ({"any": True}, False),
        ({"matchNames": ["prod"]}, False),
        ({"matchNames": ["pr-7", "monitoring"]}, False),
    ],
)
def test_a_monitor_scrapes_its_own_namespace_only(
    shared: OfflineRun, selector: dict[str, Any] | None, admitted: bool
) -> None:
    spec = spec_of(shared, "pingvas-monitors")
    monitor = _monitor(tlsConfig={"insecureSkipVerify": False})
    if selector is not None:
        monitor["spec"]["namespaceSelector"] = selector
    assert (refusals(spec, monitor, "pr-7") == []) is admitted


def test_the_charts_monitors_are_admitted(shared: OfflineRun) -> None:
    spec = spec_of(shared, "pingvas-monitors")
    seen = 0
    for stack in STACKS:
        for kind in ("ServiceMonitor", "PodMonitor"):
            for monitor in render(stack, release_values(stack)).of_kind(kind):
                seen += 1
                assert refusals(spec, monitor, stack) == []
    assert seen, "the control saw no monitor"
