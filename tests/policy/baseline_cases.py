"""The baseline rules' cases (and the rule that IAM statements name their actions): for
each, a resource it must refuse and the fix it must pass, built from the inputs CrossGuard
sends (tests/policy/test_rule_cases.py)."""

from __future__ import annotations

from collections.abc import Callable

from policy import baseline_rules as baseline
from policy import rules
from pulumi_offline import RecordedResource
from tests.support.policy import ROLE, ROLE_POLICY, allow, doc, resource

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
