"""The order a first `pulumi up` creates things in (issue 23, item 2): on an empty cluster
every custom resource and webhook-validated object waits for the release that installs its
CRD and webhook, every namespaced object for its namespace, and no resource waits for one
the stack does not create. Each check runs over every committed preview, and a graph with
one edge cut (the order before the fix) shows it fails."""

from __future__ import annotations

import dataclasses

import pytest

from pulumi_offline import OfflineRun, RecordedResource
from tests.support.graph import dangling_edges, installer_problems, namespace_problems
from tests.support.stacks import run_stack

STACKS = ["shared", "dev", "prod", "pr-7"]


def platform_of(stack: str) -> OfflineRun | None:
    return None if stack == "shared" else run_stack("shared")


def without_edges(run: OfflineRun, name: str, cut: str) -> OfflineRun:
    """`run` where resource `name` no longer waits for resources whose name contains `cut`."""

    def mutated(resource: RecordedResource) -> RecordedResource:
        if resource.name != name or not resource.type.startswith("kubernetes:"):
            return resource
        kept = [urn for urn in resource.dependencies if cut not in urn.rsplit("::", 1)[-1]]
        assert kept != resource.dependencies, f"{name} had no edge to {cut}"
        return dataclasses.replace(resource, dependencies=kept)

    return dataclasses.replace(run, resources=[mutated(r) for r in run.resources])


@pytest.mark.parametrize("stack", STACKS)
def test_custom_resources_wait_for_the_release_of_their_crd_and_webhook(stack: str) -> None:
    assert installer_problems(run_stack(stack), platform_of(stack)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_namespaced_objects_wait_for_their_namespace(stack: str) -> None:
    assert namespace_problems(run_stack(stack)) == []


@pytest.mark.parametrize("stack", STACKS)
def test_every_edge_leads_to_a_resource_of_the_stack(stack: str) -> None:
    assert dangling_edges(run_stack(stack)) == []


def test_the_monitoring_secret_store_waits_for_external_secrets() -> None:
    """The order before the fix: the store waited for the cluster only, and its
    ExternalSecret and kube-prometheus-stack with it."""
    cut = without_edges(
        run_stack("shared"), "pingvas-shared-monitoring-secret-store", "external-secrets"
    )
    problems = installer_problems(cut, None)
    assert "pingvas-shared-monitoring-secret-store does not wait for external-secrets" in problems


def test_a_custom_resource_without_its_release_is_caught() -> None:
    shared = run_stack("shared")
    rules = shared.one(
        "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "pingvas-shared-monitoring-rules"
    )
    cut = dataclasses.replace(
        shared,
        resources=[
            dataclasses.replace(r, dependencies=[]) if r is rules else r for r in shared.resources
        ],
    )
    assert installer_problems(cut, None) == [
        "pingvas-shared-monitoring-rules does not wait for kube-prometheus-stack"
    ]
    environment = run_stack("dev")
    assert any(
        "nothing installs external-secrets" in problem
        for problem in installer_problems(environment, dataclasses.replace(shared, resources=[]))
    )


def test_an_object_before_its_namespace_is_caught() -> None:
    run = run_stack("dev")
    (quota, *_) = run.of_type("kubernetes:core/v1:ResourceQuota")
    cut = dataclasses.replace(
        run,
        resources=[
            dataclasses.replace(r, dependencies=[]) if r is quota else r for r in run.resources
        ],
    )
    assert namespace_problems(cut) == [f"{quota.name} does not wait for namespace dev"]


def test_an_edge_to_nothing_and_a_cycle_are_caught() -> None:
    run = run_stack("pr-7")
    first, second = run.resources[-2:]
    gone = "urn:pulumi:pr-7::pingvas::x::gone"
    cut = dataclasses.replace(
        run,
        resources=[
            *run.resources[:-2],
            dataclasses.replace(first, dependencies=[*first.dependencies, second.urn]),
            dataclasses.replace(second, dependencies=[first.urn, gone]),
        ],
    )
    problems = dangling_edges(cut)
    assert f"{second.name} waits for {gone}, which the stack does not create" in problems
    assert any(problem.startswith("dependency cycle") for problem in problems)
