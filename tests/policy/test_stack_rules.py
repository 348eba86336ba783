"""Every stack rule of the pack catches the violation it exists for and passes its fix,
over stacks built from the resources CrossGuard sends."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy import stack_rules
from policy.documents import UNKNOWN
from pulumi_offline import RecordedResource
from tests.support.policy import resource, stack_found


def test_every_bucket_is_guarded() -> None:
    bucket = resource("aws:s3/bucket:Bucket", {"bucket": "b"}, name="b")
    companions = [
        resource(type_, {"bucket": bucket.id}, name=f"c{index}")
        for index, type_ in enumerate(stack_rules.BUCKET_COMPANIONS)
    ]
    assert stack_rules.every_bucket_is_guarded is not None
    assert len(stack_found(stack_rules.every_bucket_is_guarded, bucket)) == 3
    assert stack_found(stack_rules.every_bucket_is_guarded, bucket, *companions) == []


def network_policy(namespace: str, name: str, spec: dict[str, Any]) -> RecordedResource:
    return resource(
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        {"metadata": {"name": name, "namespace": namespace}, "spec": spec},
        name=f"{namespace}-{name}",
    )


def test_default_deny_lets_pods_get_credentials() -> None:
    deny = network_policy(
        "keda", "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    )
    agent = network_policy(
        "keda",
        "agent",
        {
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}],
                    "ports": [{"protocol": "TCP", "port": 80}],
                }
            ]
        },
    )
    assert stack_found(stack_rules.default_deny_lets_pods_get_credentials, deny)
    assert stack_found(stack_rules.default_deny_lets_pods_get_credentials, deny, agent) == []


def test_environments_keep_to_their_priority() -> None:
    namespace = resource(
        "kubernetes:core/v1:Namespace",
        {"metadata": {"name": "pr-7", "labels": {"pingvas.io/environment": "pr-7"}}},
        name="ns",
    )
    own = resource(
        "kubernetes:scheduling.k8s.io/v1:PriorityClass",
        {"metadata": {"name": "ephemeral-low"}},
        name="pc",
    )

    def quota(values: list[str]) -> RecordedResource:
        return resource(
            "kubernetes:core/v1:ResourceQuota",
            {
                "metadata": {"name": "foreign-priorities", "namespace": "pr-7"},
                "spec": {
                    "hard": {"pods": "0"},
                    "scopeSelector": {
                        "matchExpressions": [
                            {"scopeName": "PriorityClass", "operator": "In", "values": values}
                        ]
                    },
                },
            },
            name="q",
        )

    rule = stack_rules.environments_keep_to_their_priority
    assert "prod-high" in stack_found(rule, namespace, own, quota(["dev-low"]))[0]
    every = ["dev-low", "prod-high", "system-cluster-critical", "system-node-critical"]
    assert stack_found(rule, namespace, own, quota(every)) == []


def kubeconfig(user: dict[str, Any]) -> str:
    return json.dumps(
        {
            "clusters": [{"name": "eks", "cluster": {"server": "https://eks.example"}}],
            "users": [{"name": "u", "user": user}],
        }
    )


def test_environments_deploy_as_their_deployer() -> None:
    def provider(user: dict[str, Any]) -> RecordedResource:
        return resource("pulumi:providers:kubernetes", {"kubeconfig": kubeconfig(user)}, name="k8s")

    get_token = ["eks", "get-token", "--cluster-name", "eks"]
    # The platform's own kubeconfig: the caller's identity, a cluster admin.
    admin = provider({"exec": {"command": "aws", "args": get_token}})
    token = provider({"token": "abc", "exec": {"command": "aws", "args": get_token}})
    deployer = provider(
        {"exec": {"command": "aws", "args": [*get_token, "--role-arn", "arn:aws:iam::1:role/d"]}}
    )
    rule = stack_rules.environments_deploy_as_their_deployer
    assert "does not assume a deployer role" in stack_found(rule, admin)[0]
    assert "token" in stack_found(rule, token)[0]
    assert stack_found(rule, deployer) == []
    # An environment signs as the profile its deploy job writes as its deployer (dev's:
    # pingvas-dev-cluster; a preview's: the deployer, session pr-<N>); another profile,
    # another stack's, or AWS_PROFILE (the job's own credentials win over it) is the
    # caller's own identity.
    for args, admitted in (
        (["--profile", "pingvas-dev-cluster"], True),
        (["--profile", "pingvas-preview-deployer"], True),
        (["--profile", "pingvas-prod-cluster"], False),
        (["--profile", "admin"], False),
        (["--profile"], False),
    ):
        signed = provider({"exec": {"command": "aws", "args": [*get_token, *args]}})
        assert (stack_found(rule, signed) == []) is admitted, args
    env = [{"name": "AWS_PROFILE", "value": "pingvas-dev-cluster"}]
    by_env = provider({"exec": {"command": "aws", "args": get_token, "env": env}})
    assert "does not assume a deployer role" in stack_found(rule, by_env)[0]
    # A stack with its own cluster is a platform: its provider is the cluster's admin.
    cluster = resource("eks:index:Cluster", {"name": "eks"}, name="eks")
    assert stack_found(rule, admin, cluster) == []
    unknown = resource("pulumi:providers:kubernetes", {"kubeconfig": UNKNOWN}, name="k8s")
    assert stack_found(rule, unknown) == []


def test_backup_vaults_have_a_policy() -> None:
    vault = resource("aws:backup/vault:Vault", {"name": "v"}, name="v")
    policy = resource("aws:backup/vaultPolicy:VaultPolicy", {"backupVaultName": "v"}, name="p")
    assert stack_found(stack_rules.backup_vaults_have_a_policy, vault)
    assert stack_found(stack_rules.backup_vaults_have_a_policy, vault, policy) == []


@pytest.mark.parametrize(
    ("reader_type", "log_class", "violates"),
    [
        ("aws:cloudwatch/logMetricFilter:LogMetricFilter", "INFREQUENT_ACCESS", True),
        ("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter", "INFREQUENT_ACCESS", True),
        ("aws:cloudwatch/logMetricFilter:LogMetricFilter", "STANDARD", False),
        ("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter", None, False),
    ],
)
def test_infrequent_access_logs_are_only_kept(
    reader_type: str, log_class: str | None, violates: bool
) -> None:
    props: dict[str, Any] = {"name": "/pingvas/flow", "retentionInDays": 30}
    if log_class:
        props["logGroupClass"] = log_class
    group = resource("aws:cloudwatch/logGroup:LogGroup", props, name="flow")
    reader = resource(reader_type, {"logGroupName": "/pingvas/flow"}, name="reader")
    other = resource(reader_type, {"logGroupName": "/pingvas/other"}, name="other")
    rule = stack_rules.infrequent_access_logs_are_only_kept
    assert bool(stack_found(rule, group, reader)) is violates
    assert stack_found(rule, group, other) == []  # a filter on another group
    assert stack_found(rule, group) == []
