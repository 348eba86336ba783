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
# `<service>:*`, which would also grant reading data (secret values, objects), and only on
# resources tagged (or created) with the scope's stack. Only the services an environment
# creates resources in: IAM, S3 and Route 53 go by name (deploy_policies.py), and EKS by
# the Pod Identity actions alone (POD_IDENTITY); EventBridge only for the rule that
# forwards a serverless cache's events (tagged, named for the stack; the platform's
# interruption rules are fenced by name); no EC2, KMS, logs or SQS change at all, so the
# controllers' untagged security groups and volumes are not in reach.
CHANGE_VERBS: dict[str, tuple[str, ...]] = {
    "acm": ("Add", "Delete", "Put", "Remove", "Request", "Update"),
    "cloudfront": ("Associate", "Create", "Delete", "Tag", "Untag", "Update"),
    "cloudwatch": ("Delete", "Disable", "Enable", "Put", "Set", "Tag", "Untag"),
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
    # Rules and their targets: PutRule, PutTargets, RemoveTargets, DeleteRule, tags.
    "events": ("Delete", "Disable", "Enable", "Put", "Remove", "Tag", "Untag"),
    "secretsmanager": ("Create", "Delete", "Put", "Remove", "Restore", "Tag", "Untag", "Update"),
}
# The event sources a deploy role's rules may match: ElastiCache's (its serverless cache's
# events, components/operations/cache_events.py; tests/infra/test_cache_events.py holds
# the two together).
EVENT_SOURCES = ("aws.elasticache",)
# The only EKS changes: a Pod Identity association, on the platform's cluster. No access
# entry or access policy (cluster-admin), no cluster or add-on change.
POD_IDENTITY = (
    "eks:CreatePodIdentityAssociation",
    "eks:DeletePodIdentityAssociation",
    "eks:UpdatePodIdentityAssociation",
    "eks:TagResource",
    "eks:UntagResource",
)
CLUSTER_ACCESS = (
    "eks:CreateAccessEntry",
    "eks:UpdateAccessEntry",
    "eks:DeleteAccessEntry",
    "eks:AssociateAccessPolicy",
    "eks:DisassociateAccessPolicy",
    "eks:AssociateIdentityProviderConfig",
    "eks:DisassociateIdentityProviderConfig",
    "eks:UpdateClusterConfig",
)


def changes(services: tuple[str, ...]) -> tuple[str, ...]:
    """The change actions on `services` (keys of CHANGE_VERBS, or `eks`)."""
    return tuple(
        action
        for service in services
        for action in (
            POD_IDENTITY
            if service == "eks"
            else tuple(f"{service}:{verb}*" for verb in CHANGE_VERBS[service])
        )
    )


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
    # cd-prod pins the digest cd-dev pushed for the release commit.
    "ecr:DescribeImages",
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
# What those pods may do with the platform's models bucket: read, never write or delete.
MODEL_READS = ("s3:GetObject", "s3:ListBucket")
# Actions that set or remove tags on an existing resource, in every service the account
# uses (granted or not): none may add, change or remove the `stack` tag of a resource the
# scope did not create. Those of services whose resources have generated ids (no name to
# fence by) are TAGGING_BY_ID; EC2 tags at creation through ec2:CreateTags itself.
TAGGING_BY_ID = (
    "acm:AddTagsToCertificate",
    "acm:RemoveTagsFromCertificate",
    "cloudfront:TagResource",
    "cloudfront:UntagResource",
    "eks:TagResource",
    "eks:UntagResource",
)
TAGGING_BY_NAME = (
    "cloudwatch:TagResource",
    "cloudwatch:UntagResource",
    "elasticache:AddTagsToResource",
    "elasticache:RemoveTagsFromResource",
    "events:TagResource",
    "events:UntagResource",
    "iam:Tag*",
    "iam:Untag*",
    "kms:TagResource",
    "kms:UntagResource",
    "logs:TagResource",
    "logs:UntagResource",
    "logs:TagLogGroup",
    "logs:UntagLogGroup",
    "rds:AddTagsToResource",
    "rds:RemoveTagsFromResource",
    "route53:ChangeTagsForResource",
    "s3:PutBucketTagging",
    "s3:PutObjectTagging",
    "s3:PutObjectVersionTagging",
    "s3:DeleteObjectTagging",
    "s3:DeleteObjectVersionTagging",
    "secretsmanager:TagResource",
    "secretsmanager:UntagResource",
    "sns:TagResource",
    "sns:UntagResource",
    "sqs:TagQueue",
    "sqs:UntagQueue",
)
EC2_TAGGING = ("ec2:CreateTags", "ec2:DeleteTags")
TAGGING = (*TAGGING_BY_ID, *TAGGING_BY_NAME, *EC2_TAGGING)
# Every IAM call that changes something: a deploy role makes them only on roles and
# policies named for its own stacks.
IAM_CHANGES = (
    *(
        f"iam:{verb}*"
        for verb in (
            "Add",
            "Attach",
            "Change",
            "Create",
            "Deactivate",
            "Delete",
            "Detach",
            "Enable",
            "Put",
            "Remove",
            "Reset",
            "Resync",
            "Set",
            "Tag",
            "Untag",
            "Update",
            "Upload",
        )
    ),
    "iam:PassRole",
)
# The IAM calls whose request carries the role's permissions boundary
# (`iam:PermissionsBoundary`, AWS's service authorization reference): a deploy role makes
# them only on roles that carry its scope's boundary.
BOUNDED_ROLE_CHANGES = (
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
)
# Services the roles a deploy role makes are handed to: EKS Pod Identity.
PASS_ROLE_TO = ("pods.eks.amazonaws.com",)
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
