"""Ephemeral pr-<N> stacks (issue 17): nothing slow of their own, no Aurora, in-cluster
data stores, the platform's shared preview edge, and a destroy that leaves nothing."""

from __future__ import annotations

import graphlib
import json
from typing import Any

import pytest

from components.conventions import PREVIEW_LABEL
from components.data.postgres import IMAGE as POSTGRES_IMAGE
from pulumi_offline import OfflineRun
from tests.support.stacks import run_stack
from tools import timing

THREE_MINUTES = 180
# What is slow to create or destroy, or billed by the hour: the platform's, not a PR's.
SLOW_OR_HOURLY = (
    "aws:cloudfront/distribution:Distribution",
    "aws:acm/certificate:Certificate",
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:rds/cluster:Cluster",
    "kubernetes:networking.k8s.io/v1:IngressClass",
    "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams",
)


@pytest.fixture(scope="module")
def pr() -> OfflineRun:
    return run_stack("pr-7")


def release_values(run: OfflineRun) -> dict[str, Any]:
    values: dict[str, Any] = run.one("kubernetes:helm.sh/v3:Release", "pingvas-pr-7-app").inputs[
        "values"
    ]
    return values


def test_pr_stack_has_no_cdn_certificate_or_load_balancer_of_its_own(pr: OfflineRun) -> None:
    present = sorted({r.type for r in pr.resources} & set(SLOW_OR_HOURLY))
    assert present == []
    # Every Ingress the chart makes joins the platform's shared class and group.
    shared = run_stack("shared").outputs
    ingress = release_values(pr)["ingress"]
    assert ingress == {
        "className": shared["previewIngressClass"],
        "groupName": shared["previewIngressGroup"],
        "host": "pr-7.pr.pingvas.example.com",
    }
    # No DNS record of its own: ExternalDNS publishes the Ingress host and removes it
    # with the Ingress.
    assert pr.of_type("aws:route53/record:Record") == []


def test_images_are_served_by_presigned_urls_not_a_cdn(pr: OfflineRun) -> None:
    values = release_values(pr)
    assert values["config"]["imageBaseUrl"] == ""  # the app presigns S3 URLs
    assert "cdnDomainName" not in pr.outputs
    assert "imagesHostname" not in pr.outputs["edge"]
    # The bucket lets no CloudFront principal in: only the deny of plain HTTP remains.
    (policy,) = pr.of_type("aws:s3/bucketPolicy:BucketPolicy")
    statements = json.loads(policy.inputs["policy"])["Statement"]
    assert [s["Effect"] for s in statements] == ["Deny"]
    assert "cloudfront" not in policy.inputs["policy"]


def test_pr_stack_never_touches_aurora(pr: OfflineRun) -> None:
    shared = run_stack("shared").outputs
    aurora = {shared[key] for key in ("auroraWriterEndpoint", "auroraReaderEndpoint")}
    everything = json.dumps([r.inputs for r in pr.resources]) + json.dumps(pr.outputs)
    for value in aurora:
        assert value not in everything
    assert "rds!" not in everything  # the master secret stays in the platform
    # Its migration hook's superuser is its own server's.
    master = pr.one("aws:secretsmanager/secret:Secret", "pingvas-pr-7-postgres-master")
    assert (
        release_values(pr)["migrations"]["schemaOwnerSecretArn"]
        == (pr.outputs["databaseOwnerSecretArn"])
    )
    assert pr.outputs["databaseOwnerSecretArn"].endswith(master.id)
    assert master.inputs["recoveryWindowInDays"] == 0


def test_postgres_runs_in_the_namespace_small_tls_and_gone_with_the_stack(
    pr: OfflineRun,
) -> None:
    stateful_set = pr.one("kubernetes:apps/v1:StatefulSet", "pingvas-pr-7-postgres-statefulset")
    spec = stateful_set.inputs["spec"]
    assert stateful_set.inputs["metadata"]["namespace"] == "pr-7"
    assert spec["replicas"] == 1
    assert spec["serviceName"] == "postgres"
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"] == {"storage": "1Gi"}
    assert spec["persistentVolumeClaimRetentionPolicy"] == {
        "whenDeleted": "Delete",
        "whenScaled": "Delete",
    }
    pod = spec["template"]["spec"]
    (server,) = pod["containers"]
    assert server["image"] == POSTGRES_IMAGE
    assert server["args"][:2] == ["-c", "ssl=on"]
    assert server["resources"]["limits"] == {"memory": "512Mi"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container in (*pod["initContainers"], server):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    # The app connects to it over TLS, like to Aurora.
    database = pr.one("aws:secretsmanager/secretVersion:SecretVersion", "pingvas-pr-7-database")
    assert database.inputs["secretString"] == "[secret]"
    assert pr.outputs["databaseSchema"] == "pr_7_pingvas"


def test_pr_namespace_joins_the_shared_preview_class(pr: OfflineRun) -> None:
    (namespace,) = pr.of_type("kubernetes:core/v1:Namespace")
    assert namespace.inputs["metadata"]["labels"][PREVIEW_LABEL] == "true"
    assert PREVIEW_LABEL not in str(
        run_stack("dev").of_type("kubernetes:core/v1:Namespace")[0].inputs
    )


# --- destroy ---------------------------------------------------------------------------


def test_destroy_plan_removes_everything_the_stack_owns(pr: OfflineRun) -> None:
    """The delete plan (the create graph walked backwards) holds every resource the
    create made, and nothing it deletes leaves a name, an object or a record behind."""
    created = {r.urn for r in pr.resources if r.type != "pulumi:pulumi:StackReference"}
    graph = timing.dependency_graph(pr)
    plan = list(_deletion_order(graph))
    assert set(plan) >= created
    position = {urn: index for index, urn in enumerate(plan)}
    for urn, needs in graph.items():
        for needed in needs:  # nothing is deleted before what depends on it
            assert position[urn] < position[needed]
    # Secret names are free again at once: a new pr-7 can be created right after.
    for secret in pr.of_type("aws:secretsmanager/secret:Secret"):
        assert secret.inputs["recoveryWindowInDays"] == 0, secret.name
    # The bucket goes with its images (every version).
    (bucket,) = pr.of_type("aws:s3/bucket:Bucket")
    assert bucket.inputs["forceDestroy"] is True
    # Pod Identity associations are the stack's own and in the plan; no Route 53 record
    # or load balancer rule is (ExternalDNS and the controller remove theirs with the
    # Ingresses, which go with the release and the namespace).
    associations = pr.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert len(associations) == 3
    assert {a.urn for a in associations} <= set(plan)
    # In-cluster volumes are deleted with their StatefulSets.
    for stateful_set in pr.of_type("kubernetes:apps/v1:StatefulSet"):
        retention = stateful_set.inputs["spec"]["persistentVolumeClaimRetentionPolicy"]
        assert retention["whenDeleted"] == "Delete", stateful_set.name


def _deletion_order(graph: dict[str, set[str]]) -> list[str]:
    dependents: dict[str, set[str]] = {urn: set() for urn in graph}
    for urn, needs in graph.items():
        for needed in needs:
            dependents[needed].add(urn)
    return list(graphlib.TopologicalSorter(dependents).static_order())


# --- how long ----------------------------------------------------------------------------


def test_pr_stack_up_and_destroy_fit_in_three_minutes(pr: OfflineRun) -> None:
    result = timing.estimate(pr)
    assert result.up.total_seconds <= THREE_MINUTES
    assert result.destroy.total_seconds <= THREE_MINUTES
    # Every AWS resource of a PR has a sourced figure: only in-cluster waits (pods) are
    # unknown, never AWS time.
    for path in (result.up, result.destroy):
        assert [t for t in path.unknown_types if not t.startswith("kubernetes:")] == []


def test_only_the_migration_hook_reads_the_postgres_superuser(pr: OfflineRun) -> None:
    master_arn = pr.outputs["databaseOwnerSecretArn"]
    policies = {
        p.name.rsplit("-", 1)[-1]: p.inputs["policy"]
        for p in pr.of_type("aws:iam/rolePolicy:RolePolicy")
    }
    # The namespace's External Secrets store reads pingvas-pr-7-* but this one.
    store = json.loads(policies.pop("store"))["Statement"]
    (deny,) = [s for s in store if s["Effect"] == "Deny"]
    master_name = pr.one("aws:secretsmanager/secret:Secret", "pingvas-pr-7-postgres-master")
    assert deny["Resource"] == [
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{master_name.inputs['name']}-*"
    ]
    assert set(policies) == {"api", "worker", "migrations"}
    assert master_arn in policies["migrations"]
    assert master_arn not in policies["api"]
    assert master_arn not in policies["worker"]


def test_the_app_starts_after_its_in_cluster_data_stores(pr: OfflineRun) -> None:
    release = pr.one("kubernetes:helm.sh/v3:Release", "pingvas-pr-7-app")
    for server in ("postgres", "redis"):
        stateful_set = pr.one(
            "kubernetes:apps/v1:StatefulSet", f"pingvas-pr-7-{server}-statefulset"
        )
        assert stateful_set.urn in release.dependencies, server
