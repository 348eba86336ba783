"""The permissions boundary of the roles a deploy role creates (deploy_policies.py): what
an environment's pods need, on their own stack's resources. A preview's pods are bounded by
their own namespace (the `kubernetes-namespace` tag of their Pod Identity session), so a
role made for pr-7 reaches nothing of pr-8."""

from __future__ import annotations

from typing import Any

from components.delivery.deploy_actions import MODEL_READS, POD_ACTIONS
from components.delivery.deploy_policies import (
    Account,
    DeployScope,
    StackNames,
    arns_named_for,
    tagged_outside,
)


def boundary_policy(scope: DeployScope, names: StackNames, account: Account) -> dict[str, Any]:
    """The ceiling of the roles a deploy role creates: what the scope's pods need, on the
    scope's own resources (Pod Identity roles; components/iam.py)."""
    stacks = scope.boundary_stacks
    prefix = names.prefix(stacks)
    own_buckets = arns_named_for(stacks, names, account)[:2]
    models = list(names.models_bucket(account.partition))
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnBuckets",
                "Effect": "Allow",
                "Action": [action for action in POD_ACTIONS if action.startswith("s3:")],
                "Resource": own_buckets,
            },
            {
                # Read only: the models' EFS is re-synced from this bucket.
                "Sid": "ReadTheModels",
                "Effect": "Allow",
                "Action": list(MODEL_READS),
                "Resource": models,
            },
            {
                "Sid": "OwnSecrets",
                "Effect": "Allow",
                "Action": [a for a in POD_ACTIONS if a.startswith("secretsmanager:")],
                # ...and the schema owner the platform keeps for the environment
                # (stacks/data.py), which its migrations log in as.
                "Resource": [
                    f"arn:{account.partition}:secretsmanager:*:{account.id}:secret:{prefix}-*",
                    f"arn:{account.partition}:secretsmanager:*:{account.id}:secret:"
                    f"{names.platform_prefix}-{stacks}-schema-owner-*",
                ],
            },
            {
                # The API drops a deleted image from its environment's CDN.
                "Sid": "InvalidateOwnCdn",
                "Effect": "Allow",
                "Action": "cloudfront:CreateInvalidation",
                "Resource": f"arn:{account.partition}:cloudfront::{account.id}:distribution/*",
                "Condition": {"StringLike": {"aws:ResourceTag/stack": stacks}},
            },
            {
                "Sid": "DecryptThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}},
            },
            {
                "Sid": "MountOwnAndSharedFileSystems",
                "Effect": "Allow",
                "Action": [a for a in POD_ACTIONS if a.startswith("elasticfilesystem:")],
                "Resource": "*",
                "Condition": {
                    "StringLike": {"aws:ResourceTag/stack": [stacks, names.platform_stack]}
                },
            },
            {
                "Sid": "NothingOfAnotherStack",
                "Effect": "Deny",
                "Action": list(POD_ACTIONS),
                "Resource": "*",
                "Condition": tagged_outside(stacks, "aws:ResourceTag/stack", names.platform_stack),
            },
            {
                "Sid": "WriteNoOtherBuckets",
                "Effect": "Deny",
                "Action": [a for a in POD_ACTIONS if a.startswith("s3:") and a not in MODEL_READS],
                "NotResource": own_buckets,
            },
            {
                "Sid": "ReadNoOtherStacksBuckets",
                "Effect": "Deny",
                "Action": list(MODEL_READS),
                "NotResource": [*own_buckets, *models],
            },
        ],
    }
