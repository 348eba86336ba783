"""Every baseline rule of the pack, and the rule that IAM statements name their actions,
catches the violation it exists for and passes its fix: one failing and one passing case
per rule, built from the inputs CrossGuard sends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policy import baseline_rules as baseline
from policy import rules
from policy.documents import UNKNOWN
from pulumi_offline import RecordedResource
from tests.support.policy import ROLE, ROLE_POLICY, allow, doc, found, resource

# rule, bad resource, good resource
CASES: list[tuple[Callable[..., None], RecordedResource, RecordedResource]] = [
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


@pytest.mark.parametrize("rule", [case[0] for case in CASES])
def test_rules_skip_values_unknown_during_a_preview(rule: Callable[..., None]) -> None:
    """A real first `pulumi preview` sends the unknown sentinel: no crash, no guess."""
    unknowns: list[dict[str, Any]] = [
        {"policy": UNKNOWN, "assumeRolePolicy": UNKNOWN},
        {"spec": {}},
        {},
    ]
    for props in unknowns:
        found(rule, resource(ROLE_POLICY, props))


def test_every_baseline_rule_has_a_case() -> None:
    # Each rule function is named as its policy.
    covered = {case[0].__name__.replace("_", "-") for case in CASES}
    assert {policy.name for policy in baseline.BASELINE_POLICIES} == covered - {
        "iam-policies-name-their-actions"
    }
