"""SPEC §3 and §6 tenancy: each environment's namespace on the shared cluster."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pulumi_offline import OfflineRun
from tests.support.crds import crd_errors
from tests.support.preview import role_policy, statements_by_actions
from tests.support.stacks import run_stack

QUOTAS = {
    "dev": {
        "requests.cpu": "20",
        "requests.memory": "50Gi",
        "requests.nvidia.com/gpu": "3",
        "pods": "50",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    },
    "prod": {
        "requests.cpu": "50",
        "requests.memory": "200Gi",
        "requests.nvidia.com/gpu": "15",
        "pods": "200",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    },
    "pr-7": {
        "requests.cpu": "8",
        "requests.memory": "16Gi",
        "requests.nvidia.com/gpu": "1",
        "pods": "30",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    },
}
PRIORITIES = {
    "dev": ("dev-low", 100_000),
    "prod": ("prod-high", 1_000_000),
    "pr-7": ("ephemeral-low", 10_000),
}


def policies(run: OfflineRun) -> dict[str, dict[str, Any]]:
    return {
        p.inputs["metadata"]["name"]: p.inputs["spec"]
        for p in run.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }


@pytest.mark.parametrize("stack", ["dev", "prod", "pr-7"])
def test_namespace_quota_and_priority_are_spec(stack: str) -> None:
    run = run_stack(stack)
    (namespace,) = run.of_type("kubernetes:core/v1:Namespace")
    labels = namespace.inputs["metadata"]["labels"]
    assert namespace.inputs["metadata"]["name"] == stack
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    quotas = {
        q.inputs["metadata"]["name"]: q for q in run.of_type("kubernetes:core/v1:ResourceQuota")
    }
    quota = quotas["quota"]
    assert quota.inputs["metadata"]["namespace"] == stack
    assert quota.inputs["spec"]["hard"] == QUOTAS[stack]
    # No pod of this namespace may run at another environment's (or the system's) priority.
    foreign = quotas["foreign-priorities"].inputs["spec"]
    assert foreign["hard"] == {"pods": "0"}
    (selector,) = foreign["scopeSelector"]["matchExpressions"]
    own = PRIORITIES[stack][0]
    others = {name for name, _ in PRIORITIES.values()} - {own}
    assert selector["scopeName"] == "PriorityClass"
    assert selector["operator"] == "In"
    assert set(selector["values"]) == others | {"system-cluster-critical", "system-node-critical"}
    # The class itself is the platform's (components/delivery/deployers.py), shared by previews.
    (priority,) = [
        c
        for c in run_stack("shared").of_type("kubernetes:scheduling.k8s.io/v1:PriorityClass")
        if c.inputs["metadata"]["name"] == own
    ]
    assert (priority.inputs["metadata"]["name"], priority.inputs["value"]) == PRIORITIES[stack]
    assert priority.inputs["globalDefault"] is False
    (limits,) = run.of_type("kubernetes:core/v1:LimitRange")
    (item,) = limits.inputs["spec"]["limits"]
    assert item["defaultRequest"] == {"cpu": "100m", "memory": "128Mi"}


def test_priorities_order_prod_over_dev_over_ephemeral() -> None:
    values = [PRIORITIES[s][1] for s in ("prod", "dev", "pr-7")]
    assert values == sorted(values, reverse=True)


def test_network_policies_isolate_the_namespace() -> None:
    found = policies(run_stack("dev"))
    assert found["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    assert found["same-namespace"]["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert found["same-namespace"]["egress"] == [{"to": [{"podSelector": {}}]}]
    data = found["data-stores"]["egress"][0]
    # The data subnets only, not the whole VPC (issue 12, guarantee 8).
    assert data["to"] == [
        {"ipBlock": {"cidr": cidr}} for cidr in ("10.0.11.0/24", "10.0.12.0/24", "10.0.13.0/24")
    ]
    agent = found["pod-identity-agent"]["egress"][0]
    assert agent == {
        "to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}],
        "ports": [{"protocol": "TCP", "port": 80}],
    }
    assert {p["port"] for p in data["ports"]} == {5432, 6379, 2049}
    https = found["https-out"]["egress"][0]
    assert https["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/16"]}}]
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    dns = found["dns"]["egress"][0]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    alb = found["load-balancer-in"]["ingress"][0]
    assert alb["from"] == [
        {"ipBlock": {"cidr": cidr}} for cidr in ("10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24")
    ]
    assert alb["ports"] == [{"protocol": "TCP", "port": 8001, "endPort": 8005}]


def test_no_policy_admits_another_environment() -> None:
    """Only kube-system (DNS), monitoring (scrapes) and keda (stream lag) are named."""
    for stack in ("dev", "prod"):
        named = set()
        for spec in policies(run_stack(stack)).values():
            for rule in spec.get("ingress", []) + spec.get("egress", []):
                for peer in rule.get("from", []) + rule.get("to", []):
                    selector = peer.get("namespaceSelector")
                    if selector is not None:
                        named.add(selector["matchLabels"]["kubernetes.io/metadata.name"])
        assert named == {"kube-system", "monitoring", "keda"}


def test_only_prometheus_comes_in_from_monitoring() -> None:
    """Grafana, Fluent Bit or a compromised pod in `monitoring` cannot reach the app."""
    (rule,) = policies(run_stack("prod"))["monitoring-in"]["ingress"]
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]


def test_service_accounts_reach_only_their_environment() -> None:
    run = run_stack("dev")
    bucket = run.outputs["imagesBucketName"]
    api = statements_by_actions(role_policy(run, "pingvas-api"))
    # Current versions only: no s3:DeleteObjectVersion (issue 12, guarantee 9).
    object_actions = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")
    assert api[object_actions] == f"arn:aws:s3:::{bucket}/*"
    assert api[("s3:ListBucket",)] == f"arn:aws:s3:::{bucket}"
    assert "s3:DeleteObjectVersion" not in json.dumps(role_policy(run, "pingvas-api"))
    # The pods read no secret themselves: all reach them through the namespace's store.
    assert "secretsmanager:" not in json.dumps(role_policy(run, "pingvas-api"))

    worker = statements_by_actions(role_policy(run, "pingvas-worker"))
    assert worker[("s3:GetObject", "s3:PutObject")] == f"arn:aws:s3:::{bucket}/*"
    mount = worker[("elasticfilesystem:ClientMount",)]
    assert mount.endswith(":file-system/" + run_stack("shared").outputs["modelStoreFileSystemId"])
    assert ("elasticfilesystem:ClientWrite",) not in worker  # models are read-only
    assert "secretsmanager:" not in json.dumps(role_policy(run, "pingvas-worker"))


@pytest.mark.parametrize("stack", ["dev", "prod", "pr-7"])
def test_the_namespace_store_reads_only_its_environment(stack: str) -> None:
    run = run_stack(stack)
    (store,) = run.of_type("kubernetes:external-secrets.io/v1:SecretStore")
    assert store.inputs["metadata"] == {"name": "aws-secrets-manager", "namespace": stack}
    aws = store.inputs["spec"]["provider"]["aws"]
    role = run.one("aws:iam/role:Role", f"pingvas-{stack}-tenancy-secret-store")
    assert aws["role"].endswith(role.id)
    assert aws["externalID"] == stack
    spec = {k: copy.deepcopy(store.inputs[k]) for k in ("apiVersion", "kind", "metadata", "spec")}
    assert crd_errors(spec) == []
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"AWS": run_stack("shared").outputs["externalSecretsRoleArn"]}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": stack}}
    (policy,) = [
        p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id
    ]
    read = next(
        s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Effect"] == "Allow"
    )
    assert read["Resource"] == [
        f"arn:aws:secretsmanager:us-east-1:123456789012:secret:pingvas-{stack}-*"
    ]
    assert not run.of_type("kubernetes:external-secrets.io/v1:ClusterSecretStore")


@pytest.mark.parametrize("stack", ["dev", "prod", "pr-7"])
def test_pod_identity_roles_trust_only_their_binding(stack: str) -> None:
    run = run_stack(stack)
    for association in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation"):
        role = next(
            r
            for r in run.of_type("aws:iam/role:Role")
            if association.inputs["roleArn"].endswith(r.id)
        )
        (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert trust["Condition"]["StringEquals"] == {
            "aws:RequestTag/eks-cluster-arn": (
                "arn:aws:eks:us-east-1:123456789012:cluster/pingvas-shared-eks"
            ),
            "aws:RequestTag/kubernetes-namespace": stack,
            "aws:RequestTag/kubernetes-service-account": association.inputs["serviceAccount"],
            "aws:SourceAccount": "123456789012",
        }


@pytest.mark.parametrize("stack", ["dev", "pr-7"])
def test_kubernetes_objects_go_to_the_platform_cluster(stack: str) -> None:
    run = run_stack(stack)
    (provider,) = run.of_type("pulumi:providers:kubernetes")
    # As the environment's deployer, not the platform's admin (tests/infra/test_deployers.py).
    (cluster,) = json.loads(provider.inputs["kubeconfig"])["clusters"]
    assert cluster["cluster"]["server"] == run_stack("shared").outputs["clusterEndpoint"]
    for resource in run.resources:
        if resource.type.startswith("kubernetes:") and resource.type != provider.type:
            assert run.provider_of(resource).urn == provider.urn


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_migrations_read_their_schema_owner_never_the_master_secret(stack: str) -> None:
    run = run_stack(stack)
    owner = run_stack("shared").outputs["schemaOwnerSecretArns"][stack]
    migrations = statements_by_actions(role_policy(run, "pingvas-migrations"))
    assert migrations[("secretsmanager:GetSecretValue",)] == [
        run.outputs["databaseSecretArn"],
        run.outputs["databaseWorkerSecretArn"],  # the hook creates the workers' role too
        owner,
    ]
    for account in ("pingvas-api", "pingvas-worker"):
        assert owner not in json.dumps(role_policy(run, account))


@pytest.mark.parametrize("stack", ["dev", "prod", "pr-7"])
def test_no_environment_input_names_the_master_secret(stack: str) -> None:
    """Guarantee 1: the `rds!` secret's ARN is nowhere in an environment stack."""
    run = run_stack(stack)
    assert "rds!" not in json.dumps([r.as_json() for r in run.resources])
    assert "rds!" not in json.dumps(run.outputs)


def test_keda_may_read_stream_lag_from_in_cluster_redis() -> None:
    keda = policies(run_stack("pr-7"))["keda-in"]["ingress"][0]
    assert keda["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}}
    ]
    assert keda["ports"] == [{"protocol": "TCP", "port": 6379}]
