"""The IAM actions the deploy roles grant and deny, by what they touch.

Granted as `<service>:<Verb>*` by verb, never `<service>:*` (which would also grant
reading data: secret values, objects); components/delivery/deploy_policies.py builds the
policies from them.
"""

from __future__ import annotations

# The services an environment stack changes (components the environment composes).
ENVIRONMENT_SERVICES = (
    "acm",
    "cloudfront",
    "cloudwatch",
    "ec2",
    "eks",
    "elasticache",
    "events",
    "iam",
    "kms",
    "logs",
    "route53",
    "s3",
    "secretsmanager",
    "sqs",
)
# Reads that `pulumi preview` and `refresh` make; metadata only (no object or secret value).
# The calls that create, change and delete, by verb, per service (the verbs each service's
# API has, from parliament's action database): granted as `<service>:<Verb>*`, never
# `<service>:*`, which would also grant reading data (secret values, objects). S3 is left
# to the statements on buckets named for the stack.
CHANGE_VERBS: dict[str, tuple[str, ...]] = {
    "acm": ("Add", "Delete", "Put", "Remove", "Request", "Update"),
    "cloudfront": ("Associate", "Create", "Delete", "Tag", "Untag", "Update"),
    "cloudwatch": ("Create", "Delete", "Disable", "Enable", "Put", "Set", "Tag", "Untag", "Update"),
    "ec2": (
        "Associate",
        "Attach",
        "Authorize",
        "Create",
        "Delete",
        "Detach",
        "Disable",
        "Disassociate",
        "Enable",
        "Modify",
        "Put",
        "Request",
        "Restore",
        "Revoke",
        "Update",
    ),
    "eks": ("Associate", "Create", "Delete", "Disassociate", "Tag", "Untag", "Update"),
    "elasticache": (
        "Add",
        "Authorize",
        "Create",
        "Delete",
        "Disassociate",
        "Modify",
        "Remove",
        "Revoke",
    ),
    "events": ("Create", "Delete", "Disable", "Enable", "Put", "Remove", "Tag", "Untag", "Update"),
    "iam": (
        "Add",
        "Attach",
        "Create",
        "Delete",
        "Detach",
        "Put",
        "Remove",
        "Tag",
        "Untag",
        "Update",
    ),
    "kms": ("Create", "Delete", "Disable", "Enable", "Put", "Revoke", "Tag", "Untag", "Update"),
    "logs": ("Associate", "Create", "Delete", "Disassociate", "Put", "Tag", "Untag", "Update"),
    "route53": ("Associate", "Change", "Create", "Delete", "Disassociate", "Update"),
    "secretsmanager": ("Create", "Delete", "Put", "Remove", "Restore", "Tag", "Untag", "Update"),
    "sqs": ("Add", "Change", "Create", "Delete", "Remove", "Set", "Tag", "Untag"),
}
CHANGES = tuple(f"{service}:{verb}*" for service, verbs in CHANGE_VERBS.items() for verb in verbs)
# Services whose API has no Describe calls, only List (and Get) ones.
LIST_ONLY = ("iam", "route53", "sqs")
METADATA_READS = (
    *(
        f"{service}:{verb}*"
        for service in ENVIRONMENT_SERVICES
        for verb in ("Describe", "List")
        if service not in ("s3", "secretsmanager") and (verb == "List" or service not in LIST_ONLY)
    ),
    "sts:GetCallerIdentity",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "s3:GetBucket*",
    "s3:GetLifecycleConfiguration",
    "s3:GetEncryptionConfiguration",
    "s3:ListAllMyBuckets",
    "secretsmanager:DescribeSecret",
    "secretsmanager:ListSecrets",
    "tag:GetResources",
)
# What an environment's pods may ever do: the ceiling of every role a deploy role makes.
POD_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:ListBucketVersions",
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
    "kms:Decrypt",
    "elasticfilesystem:ClientMount",
    "elasticfilesystem:ClientWrite",
)
# Actions that set or remove tags on an existing resource: none may move the `stack` tag.
TAGGING = (
    "acm:AddTagsToCertificate",
    "acm:RemoveTagsFromCertificate",
    "cloudfront:TagResource",
    "cloudfront:UntagResource",
    "ec2:CreateTags",
    "ec2:DeleteTags",
    "eks:TagResource",
    "eks:UntagResource",
    "elasticache:AddTagsToResource",
    "elasticache:RemoveTagsFromResource",
    "events:TagResource",
    "events:UntagResource",
    "iam:TagPolicy",
    "iam:TagRole",
    "iam:UntagPolicy",
    "iam:UntagRole",
    "kms:TagResource",
    "kms:UntagResource",
    "logs:TagResource",
    "logs:UntagResource",
    "route53:ChangeTagsForResource",
    "s3:PutBucketTagging",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
    "sqs:TagQueue",
    "sqs:UntagQueue",
)
ECR_PUSH = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)

# S3, IAM and log-group actions that carry no tags, allowed on resources named for the
# scope's stacks: each list holds the actions on one kind of resource.
NAMED_ACTIONS = {
    "bucket": (
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:DeleteBucketPolicy",
        "s3:GetBucket*",
        "s3:GetLifecycleConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:PutBucket*",
        "s3:PutLifecycleConfiguration",
        "s3:PutEncryptionConfiguration",
    ),
    "object": ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    "role": (
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:GetRole",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
        "iam:UpdateAssumeRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:PutRolePolicy",
        "iam:GetRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:ListRolePolicies",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:PutRolePermissionsBoundary",
        "iam:PassRole",
    ),
    "policy": (
        "iam:CreatePolicy",
        "iam:DeletePolicy",
        "iam:GetPolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicyVersion",
        "iam:GetPolicyVersion",
        "iam:ListPolicyVersions",
        "iam:TagPolicy",
        "iam:UntagPolicy",
    ),
    "log-group": (
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:PutRetentionPolicy",
        "logs:DeleteRetentionPolicy",
        "logs:TagResource",
        "logs:UntagResource",
        "logs:ListTagsForResource",
        "logs:AssociateKmsKey",
        "logs:DisassociateKmsKey",
    ),
}
