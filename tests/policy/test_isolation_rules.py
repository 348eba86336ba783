"""Every rule of the pack catches the violation it exists for and passes its fix (issue 12):
one failing and one passing case per rule, built from the inputs CrossGuard sends."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from policy import baseline_rules as baseline
from policy import isolation_rules as isolation
from policy import rules, stack_rules
from policy.documents import UNKNOWN
from pulumi_offline import OfflineRun, RecordedResource
from tools.policy_check import stack_args, validation_args

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MASTER = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-abc"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def resource(
    resource_type: str,
    props: dict[str, Any],
    *,
    stack: str = "dev",
    parent_types: str = "pulumi:pulumi:Stack",
    protect: bool = False,
    name: str = "r",
    parent: str | None = None,
) -> RecordedResource:
    return RecordedResource(
        urn=f"urn:pulumi:{stack}::pingvas::{parent_types}${resource_type}::{name}",
        type=resource_type,
        name=name,
        id=f"{name}-1",
        parent=parent,
        provider=None,
        inputs=props,
        protect=protect,
    )


def found(rule: Callable[..., None], subject: RecordedResource) -> list[str]:
    messages: list[str] = []
    rule(validation_args(subject), lambda message, _urn=None: messages.append(message))
    return messages


TRUST_BOUND = {
    "StringEquals": {
        "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:1:cluster/c",
        "aws:RequestTag/kubernetes-namespace": "dev",
        "aws:RequestTag/kubernetes-service-account": "pingvas-api",
    }
}
POD_TRUST = {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}}

# rule, bad resource, good resource
CASES: list[tuple[Callable[..., None], RecordedResource, RecordedResource]] = [
    (
        isolation.environment_stacks_never_hold_the_master_secret,
        resource(ROLE_POLICY, {"policy": doc(allow("secretsmanager:GetSecretValue", MASTER))}),
        resource(
            ROLE_POLICY,
            {"policy": doc(allow("secretsmanager:GetSecretValue", MASTER))},
            stack="shared",
            parent_types="pingvas:data:SchemaOwners",
        ),
    ),
    (
        isolation.environment_stacks_never_hold_the_master_secret,
        # A wildcard reaches the master secret as surely as its ARN.
        resource(
            ROLE_POLICY,
            {"policy": doc(allow("secretsmanager:*", "arn:aws:secretsmanager:*:*:secret:*"))},
        ),
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws:secretsmanager:*:*:secret:pingvas-dev-*",
                    )
                )
            },
        ),
    ),
    (
        isolation.environment_stacks_never_hold_the_master_secret,
        resource(
            "kubernetes:helm.sh/v3:Release", {"values": {"migrations": {"masterSecretArn": MASTER}}}
        ),
        resource(
            "kubernetes:helm.sh/v3:Release",
            {"values": {"migrations": {"schemaOwnerSecretArn": "arn:x"}}},
        ),
    ),
    (
        isolation.ephemeral_stacks_never_touch_aurora,
        resource(
            "aws:secretsmanager/secret:Secret",
            {"description": "c.cluster-x.us-east-1.rds.amazonaws.com"},
            stack="pr-7",
        ),
        resource(
            "aws:secretsmanager/secret:Secret",
            {"description": "c.cluster-x.us-east-1.rds.amazonaws.com"},
            stack="dev",
        ),
    ),
    (
        isolation.secret_stores_are_namespaced,
        resource("kubernetes:external-secrets.io/v1:ClusterSecretStore", {"spec": {}}),
        resource(
            "kubernetes:external-secrets.io/v1:SecretStore",
            {
                "metadata": {"namespace": "dev"},
                "spec": {"provider": {"aws": {"role": "arn:r", "externalID": "dev"}}},
            },
        ),
    ),
    (
        isolation.secret_stores_are_namespaced,
        resource(
            "kubernetes:external-secrets.io/v1:SecretStore",
            {
                "metadata": {"namespace": "pr-7"},
                "spec": {"provider": {"aws": {"role": "arn:r", "externalID": "prod"}}},
            },
        ),
        resource(
            "kubernetes:external-secrets.io/v1:SecretStore",
            {
                "metadata": {"namespace": "pr-7"},
                "spec": {"provider": {"aws": {"role": "arn:r", "externalID": "pr-7"}}},
            },
        ),
    ),
    (
        isolation.secrets_stay_in_their_environment,
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws:secretsmanager:*:*:secret:pingvas-*",
                    )
                )
            },
        ),
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws:secretsmanager:*:*:secret:pingvas-dev-*",
                    )
                )
            },
        ),
    ),
    (
        isolation.pod_identity_trust_is_bound,
        resource(ROLE, {"assumeRolePolicy": doc({**POD_TRUST, "Action": "sts:AssumeRole"})}),
        resource(
            ROLE,
            {
                "assumeRolePolicy": doc(
                    {**POD_TRUST, "Action": "sts:AssumeRole", "Condition": TRUST_BOUND}
                )
            },
        ),
    ),
    (
        isolation.environment_quotas_forbid_external_services,
        resource("kubernetes:core/v1:ResourceQuota", {"spec": {"hard": {"requests.cpu": "8"}}}),
        resource(
            "kubernetes:core/v1:ResourceQuota",
            {
                "spec": {
                    "hard": {
                        "requests.cpu": "8",
                        "services.loadbalancers": "0",
                        "services.nodeports": "0",
                    }
                }
            },
        ),
    ),
    (
        isolation.services_stay_behind_the_alb,
        resource("kubernetes:core/v1:Service", {"spec": {"type": "LoadBalancer"}}),
        resource("kubernetes:core/v1:Service", {"spec": {"type": "ClusterIP"}}),
    ),
    (
        isolation.ingress_classes_carry_the_waf,
        resource(
            "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams",
            {"spec": {"namespaceSelector": {"matchLabels": {}}}},
        ),
        resource(
            "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams",
            {"spec": {"namespaceSelector": {"matchLabels": {}}, "wafv2AclArn": "arn:waf"}},
        ),
    ),
    (
        isolation.no_unconditioned_writes_on_everything,
        resource(ROLE_POLICY, {"policy": doc(allow(["elasticloadbalancing:DeleteRule"]))}),
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        ["elasticloadbalancing:DeleteRule"],
                        Condition={"Null": {"aws:ResourceTag/x": "false"}},
                    )
                )
            },
        ),
    ),
    (
        isolation.service_principals_name_their_source,
        resource(
            ROLE,
            {
                "assumeRolePolicy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "backup.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                )
            },
        ),
        resource(
            ROLE,
            {
                "assumeRolePolicy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "backup.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": "1"}},
                    }
                )
            },
        ),
    ),
    (
        isolation.service_principals_name_their_source,
        # The Karpenter interruption queue: EventBridge delivers for named rules only.
        resource(
            "aws:sqs/queuePolicy:QueuePolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": "arn:q",
                    }
                )
            },
        ),
        resource(
            "aws:sqs/queuePolicy:QueuePolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": "arn:q",
                        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:1:rule/k-*"}},
                    }
                )
            },
        ),
    ),
    (
        isolation.namespaces_carry_pod_security,
        resource("kubernetes:core/v1:Namespace", {"metadata": {"name": "keda"}}),
        resource(
            "kubernetes:core/v1:Namespace",
            {
                "metadata": {
                    "name": "keda",
                    "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
                }
            },
        ),
    ),
    (
        isolation.helm_releases_create_no_namespace,
        resource("kubernetes:helm.sh/v3:Release", {"createNamespace": True}),
        resource("kubernetes:helm.sh/v3:Release", {"namespace": "keda"}),
    ),
    (
        isolation.efs_policies_allow_mounts,
        resource(
            "aws:efs/fileSystemPolicy:FileSystemPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "*",
                        "Resource": "arn:fs",
                    }
                )
            },
        ),
        resource(
            "aws:efs/fileSystemPolicy:FileSystemPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "elasticfilesystem:ClientMount",
                        "Resource": "arn:fs",
                    }
                )
            },
        ),
    ),
    (
        isolation.data_store_egress_names_subnets,
        resource(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            {
                "spec": {
                    "egress": [
                        {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"port": 5432}]}
                    ]
                }
            },
        ),
        resource(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            {
                "spec": {
                    "egress": [
                        {"to": [{"ipBlock": {"cidr": "10.0.11.0/24"}}], "ports": [{"port": 5432}]}
                    ]
                }
            },
        ),
    ),
    (
        isolation.stateful_resources_are_protected,
        resource("aws:rds/cluster:Cluster", {}, stack="prod"),
        resource("aws:rds/cluster:Cluster", {}, stack="prod", protect=True),
    ),
    (
        isolation.backup_vaults_keep_recovery_points,
        resource(
            "aws:backup/vaultPolicy:VaultPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": ["backup:StartBackupJob"],
                        "Resource": "*",
                    }
                )
            },
        ),
        resource(
            "aws:backup/vaultPolicy:VaultPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": ["backup:DeleteRecoveryPoint"],
                        "Resource": "*",
                    }
                )
            },
        ),
    ),
    (
        isolation.no_object_version_deletes,
        resource(ROLE_POLICY, {"policy": doc(allow("s3:Delete*", "arn:aws:s3:::b/*"))}),
        resource(ROLE_POLICY, {"policy": doc(allow("s3:DeleteObject", "arn:aws:s3:::b/*"))}),
    ),
    (
        # Only a pr-<N> stack's own (force-destroyed) buckets may lose their history.
        isolation.no_object_version_deletes,
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow("s3:DeleteObjectVersion", "arn:aws:s3:::pingvas-prod-images-1/*")
                )
            },
        ),
        resource(
            ROLE_POLICY,
            {"policy": doc(allow("s3:DeleteObjectVersion", "arn:aws:s3:::pingvas-pr-*-*/*"))},
        ),
    ),
    # The stacks build ARNs in their provider's partition: China and GovCloud documents are
    # read as `aws` ones are.
    (
        isolation.secrets_stay_in_their_environment,
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws-cn:secretsmanager:*:*:secret:pingvas-*",
                    )
                )
            },
        ),
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws-cn:secretsmanager:*:*:secret:pingvas-dev-*",
                    )
                )
            },
        ),
    ),
    (
        isolation.environment_stacks_never_hold_the_master_secret,
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws-us-gov:secretsmanager:*:*:secret:*",
                    )
                )
            },
        ),
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws-us-gov:secretsmanager:*:*:secret:pingvas-dev-*",
                    )
                )
            },
        ),
    ),
    (
        isolation.no_object_version_deletes,
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow("s3:DeleteObjectVersion", "arn:aws-cn:s3:::pingvas-prod-images-1/*")
                )
            },
        ),
        resource(
            ROLE_POLICY,
            {"policy": doc(allow("s3:DeleteObjectVersion", "arn:aws-cn:s3:::pingvas-pr-*-*/*"))},
        ),
    ),
    (
        rules.iam_policies_name_their_actions,
        # A key policy's kms:* is allowed to the account root only (AWS's default).
        resource(
            "aws:kms/key:Key",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::1:role/x"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                )
            },
        ),
        resource(
            "aws:kms/key:Key",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::1:root"},
                        "Action": "kms:*",
                        "Resource": "*",
                    }
                )
            },
        ),
    ),
    (
        isolation.service_principals_name_their_source,
        # A key may grant data keys to publishing services; nothing more without a source.
        resource(
            "aws:kms/key:Key",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "budgets.amazonaws.com"},
                        "Action": ["kms:Decrypt", "kms:CreateGrant"],
                        "Resource": "*",
                    }
                )
            },
        ),
        resource(
            "aws:kms/key:Key",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "budgets.amazonaws.com"},
                        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                        "Resource": "*",
                    }
                )
            },
        ),
    ),
    (
        baseline.eks_endpoint_is_private,
        resource(
            "eks:index:Cluster", {"endpointPrivateAccess": True, "endpointPublicAccess": True}
        ),
        resource(
            "eks:index:Cluster", {"endpointPrivateAccess": True, "endpointPublicAccess": False}
        ),
    ),
    (
        baseline.launch_templates_require_imdsv2,
        resource(
            "aws:ec2/launchTemplate:LaunchTemplate", {"metadataOptions": {"httpTokens": "optional"}}
        ),
        resource(
            "aws:ec2/launchTemplate:LaunchTemplate", {"metadataOptions": {"httpTokens": "required"}}
        ),
    ),
    (
        baseline.node_classes_require_imdsv2,
        resource(
            "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
            {"spec": {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2}}},
        ),
        resource(
            "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
            {"spec": {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1}}},
        ),
    ),
    (
        baseline.data_stores_encrypted_at_rest,
        resource("aws:efs/fileSystem:FileSystem", {"encrypted": False}),
        resource("aws:efs/fileSystem:FileSystem", {"encrypted": True}),
    ),
    (
        baseline.redis_requires_tls,
        resource(
            "aws:elasticache/replicationGroup:ReplicationGroup",
            {"transitEncryptionEnabled": True, "transitEncryptionMode": "preferred"},
        ),
        resource(
            "aws:elasticache/replicationGroup:ReplicationGroup",
            {"transitEncryptionEnabled": True, "transitEncryptionMode": "required"},
        ),
    ),
    (
        baseline.buckets_block_public_access,
        resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            dict.fromkeys(baseline.PUBLIC_ACCESS_BLOCKS[:3], True),
        ),
        resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            dict.fromkeys(baseline.PUBLIC_ACCESS_BLOCKS, True),
        ),
    ),
    (
        baseline.buckets_require_tls,
        resource(
            "aws:s3/bucketPolicy:BucketPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "x"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::b/*",
                    }
                )
            },
        ),
        resource(
            "aws:s3/bucketPolicy:BucketPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": "arn:aws:s3:::b/*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                )
            },
        ),
    ),
    (
        baseline.kms_keys_rotate,
        resource("aws:kms/key:Key", {"enableKeyRotation": False}),
        resource("aws:kms/key:Key", {"enableKeyRotation": True}),
    ),
    (
        baseline.databases_keep_backups,
        resource("aws:rds/cluster:Cluster", {"backupRetentionPeriod": 0}),
        resource("aws:rds/cluster:Cluster", {"backupRetentionPeriod": 7}),
    ),
    (
        baseline.databases_resist_deletion,
        resource("aws:rds/cluster:Cluster", {"deletionProtection": False}, stack="shared"),
        resource("aws:rds/cluster:Cluster", {"deletionProtection": True}, stack="shared"),
    ),
    (
        rules.iam_policies_name_their_actions,
        # A role's inline policy, with a whole service.
        resource(
            ROLE,
            {"inlinePolicies": [{"name": "x", "policy": doc(allow("s3:*", "arn:aws:s3:::b"))}]},
        ),
        resource(
            ROLE,
            {
                "inlinePolicies": [
                    {"name": "x", "policy": doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))}
                ]
            },
        ),
    ),
    (
        rules.iam_policies_name_their_actions,
        resource(
            ROLE_POLICY, {"policy": doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}
        ),
        resource(
            ROLE_POLICY,
            {"policy": doc(allow("logs:PutLogEvents", "arn:aws:logs:*:*:log-group:x:*"))},
        ),
    ),
    (
        rules.iam_policies_name_their_actions,
        # A resource policy (a bucket's) is checked too.
        resource(
            "aws:s3/bucketPolicy:BucketPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:r"},
                        "Action": "*",
                        "Resource": "arn:aws:s3:::b/*",
                    }
                )
            },
        ),
        resource(
            "aws:s3/bucketPolicy:BucketPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:r"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::b/*",
                    }
                )
            },
        ),
    ),
]


@pytest.mark.parametrize(
    ("rule", "bad", "good"),
    CASES,
    ids=[f"{case[0].__name__}-{index}" for index, case in enumerate(CASES)],
)
def test_each_rule_catches_its_violation_and_passes_the_fix(
    rule: Callable[..., None], bad: RecordedResource, good: RecordedResource
) -> None:
    assert found(rule, bad), f"{rule.__name__} missed {bad.inputs}"
    assert found(rule, good) == []


def test_every_resource_rule_has_a_case() -> None:
    covered = {case[0] for case in CASES} | {
        rules.internet_ingress_only_to_web_ports,
        rules.subnets_assign_no_public_ips,
        rules.log_groups_expire,
    }  # those three are tested in test_rules.py
    # Each rule function is named as its policy.
    assert {policy.name for policy in rules.POLICIES} == {
        rule.__name__.replace("_", "-") for rule in covered
    }
    assert len(rules.POLICIES) + len(rules.STACK_POLICIES) >= 25


@pytest.mark.parametrize("rule", [case[0] for case in CASES])
def test_rules_skip_values_unknown_during_a_preview(rule: Callable[..., None]) -> None:
    """A real first `pulumi preview` sends the unknown sentinel: no crash, no guess."""
    for props in ({"policy": UNKNOWN, "assumeRolePolicy": UNKNOWN}, {"spec": {}}, {}):
        found(rule, resource(ROLE_POLICY, props))


# --- stack rules ------------------------------------------------------------------------


def stack_found(rule: Callable[..., None], *subjects: RecordedResource) -> list[str]:
    messages: list[str] = []
    run = OfflineRun("pingvas", "dev", list(subjects), {})
    rule(stack_args(run), lambda message, _urn=None: messages.append(message))
    return messages


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
