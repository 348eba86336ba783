"""The AWS roles GitHub Actions assumes through OIDC: no stored keys.

One role per deploy scope, each trusted only by the OIDC subjects of the workflows that
deploy it (.github/workflows), and able to change only the resources of its own stacks:

- `pr`   — `pull_request` and the `review` environment: stacks `pr-*`;
- `dev`  — the `development` environment: stack `dev`;
- `prod` — the `production` environment (required reviewers): stack `prod`;
- `images` — pushes from `main` and `v*` tags: the platform's ECR repositories, push only.

"Its own stacks" is enforced three ways, all with conditions on the `stack` tag that the
stacks' AWS provider puts on everything (infra/tagging.py): Allow statements grant
changes only to resources tagged with (or created with) one of the scope's stacks, or
named `pingvas-<stack>-*`; a Deny stops any change to a resource tagged with another
stack and any tag that would move a resource into another stack; and roles the deploy
role creates must carry the scope's permissions boundary, so no role it makes can do more
than the scope's pods need (no way around the first two through a new role).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import policy_document

GITHUB_ISSUER = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"

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
# The platform's models bucket (stacks/data.py), which workers may read.
MODELS_BUCKET = ("arn:aws:s3:::pingvas-shared-models-*", "arn:aws:s3:::pingvas-shared-models-*/*")
ECR_PUSH = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)


@dataclass(frozen=True)
class DeployScope:
    """One GitHub identity and the stacks it may change."""

    key: str
    # OIDC `sub` claims after `repo:<owner>/<name>:`, e.g. `environment:production`.
    subjects: tuple[str, ...]
    # The `stack` tag values it may change, as an IAM pattern (`pr-*`).
    stacks: str
    # DNS records it may write in the platform's zone, `{domain}` standing for the domain
    # (infra/naming.py: `<service>.<domain>` for prod, `<service>.<stack>.<domain>` else).
    record_names: tuple[str, ...]
    record_names_denied: tuple[str, ...] = ()
    # Ephemeral stacks force-destroy their versioned buckets, which deletes every version;
    # long-lived stacks never erase history (policy rule `no-object-version-deletes`).
    erases_object_history: bool = False


DEPLOY_SCOPES = (
    DeployScope(
        "pr",
        ("pull_request", "environment:review"),
        "pr-*",
        ("*pr-*.{domain}",),
        erases_object_history=True,
    ),
    DeployScope("dev", ("environment:development",), "dev", ("*.dev.{domain}",)),
    DeployScope(
        "prod",
        ("environment:production",),
        "prod",
        ("{domain}", "*.{domain}"),
        ("*.dev.{domain}", "*pr-*.{domain}"),
    ),
)
# Pushes to main (cd-dev) and release tags (cd-prod) build and push images.
IMAGE_SUBJECTS = ("ref:refs/heads/main", "ref:refs/tags/v*")


@dataclass
class DeployRolesArgs:
    repository: str  # owner/name
    account_id: pulumi.Input[str]
    domain: str  # the platform's DNS zone, where environments write their records
    # ECR repositories the images role pushes to.
    repository_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    create_oidc_provider: bool = True
    scopes: Sequence[DeployScope] = DEPLOY_SCOPES
    max_session_seconds: int = 3600
    tags: Mapping[str, str] = field(default_factory=dict)


class DeployRoles(pulumi.ComponentResource):
    """GitHub's OIDC provider (or the account's existing one) and the deploy roles."""

    role_arns: pulumi.Output[dict[str, str]]  # scope key (and `images`) → role ARN
    boundary_arns: pulumi.Output[dict[str, str]]  # scope key → permissions boundary ARN
    oidc_provider_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DeployRolesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:delivery:DeployRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = pulumi.Output.from_input(args.account_id)
        # An OIDC provider's ARN is fixed by its issuer: the roles name it either way, and
        # wait for it where this component creates it.
        provider_arn = account.apply(
            lambda account_id: f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_ISSUER}"
        )
        self._role_options = child
        if args.create_oidc_provider:
            provider = aws.iam.OpenIdConnectProvider(
                f"{name}-github",
                url=f"https://{GITHUB_ISSUER}",
                client_id_lists=[STS_AUDIENCE],
                opts=child,
            )
            self._role_options = pulumi.ResourceOptions(parent=self, depends_on=[provider])
        self.oidc_provider_arn = provider_arn

        roles: dict[str, pulumi.Output[str]] = {}
        boundaries: dict[str, pulumi.Output[str]] = {}
        for scope in args.scopes:
            boundary = aws.iam.Policy(
                f"{name}-{scope.key}-boundary",
                name=f"{name}-{scope.key}-boundary",
                description=f"The most a role made by the {scope.key} deploy role may do",
                policy=account.apply(_boundary_json(scope)),
                opts=child,
            )
            role = self._role(name, scope.key, scope.subjects, args, provider_arn)
            aws.iam.RolePolicy(
                f"{name}-{scope.key}",
                role=role.id,
                policy=pulumi.Output.all(account, boundary.arn).apply(
                    _deploy_json(scope, args.domain)
                ),
                opts=child,
            )
            for index, document in enumerate(tagged_change_policies(scope), start=1):
                policy = aws.iam.Policy(
                    f"{name}-{scope.key}-changes-{index}",
                    name=f"{name}-{scope.key}-changes-{index}",
                    description=f"What the {scope.key} deploy role changes, by the stack tag",
                    policy=json.dumps(document),
                    opts=child,
                )
                aws.iam.RolePolicyAttachment(
                    f"{name}-{scope.key}-changes-{index}",
                    role=role.name,
                    policy_arn=policy.arn,
                    opts=child,
                )
            roles[scope.key] = role.arn
            boundaries[scope.key] = boundary.arn

        images = self._role(name, "images", IMAGE_SUBJECTS, args, provider_arn)
        aws.iam.RolePolicy(
            f"{name}-images",
            role=images.id,
            policy=policy_document(
                [
                    {
                        "Sid": "LogInToEcr",
                        "Effect": "Allow",
                        "Action": "ecr:GetAuthorizationToken",
                        "Resource": "*",  # the action has no resource
                    },
                    {
                        "Sid": "PushToThePlatformRepositories",
                        "Effect": "Allow",
                        "Action": list(ECR_PUSH),
                        "Resource": args.repository_arns,
                    },
                ]
            ),
            opts=child,
        )
        roles["images"] = images.arn

        self.role_arns = pulumi.Output.all(**roles)
        self.boundary_arns = pulumi.Output.all(**boundaries)
        self.register_outputs(
            {
                "role_arns": self.role_arns,
                "boundary_arns": self.boundary_arns,
                "oidc_provider_arn": self.oidc_provider_arn,
            }
        )

    def _role(
        self,
        name: str,
        key: str,
        subjects: Sequence[str],
        args: DeployRolesArgs,
        provider_arn: pulumi.Input[str],
    ) -> aws.iam.Role:
        return aws.iam.Role(
            f"{name}-{key}",
            name=f"{name}-{key}",
            description=f"GitHub Actions ({args.repository}) deploying {key}",
            max_session_duration=args.max_session_seconds,
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: json.dumps(trust_policy(arn, args.repository, subjects))
            ),
            opts=self._role_options,
        )


def _boundary_json(scope: DeployScope) -> Callable[[str], str]:
    return lambda account_id: json.dumps(boundary_policy(scope, account_id))


def _deploy_json(scope: DeployScope, domain: str) -> Callable[[list[str]], str]:
    return lambda values: json.dumps(deploy_policy(scope, values[0], values[1], domain))


def trust_policy(provider_arn: str, repository: str, subjects: Sequence[str]) -> dict[str, Any]:
    """Only tokens GitHub issued for `repository`'s `subjects`, for STS, may assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{GITHUB_ISSUER}:aud": STS_AUDIENCE},
                    "StringLike": {
                        f"{GITHUB_ISSUER}:sub": [
                            f"repo:{repository}:{subject}" for subject in subjects
                        ]
                    },
                },
            }
        ],
    }


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


def _named_resource_statements(scope: DeployScope, account_id: str) -> list[dict[str, Any]]:
    arns = dict(zip(NAMED_ACTIONS, _names(scope, account_id), strict=True))
    statements = [
        {
            "Sid": f"Change{kind.title().replace('-', '')}NamedForOwnStacks",
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": arns[kind],
        }
        for kind, actions in NAMED_ACTIONS.items()
    ]
    if scope.erases_object_history:
        statements.append(
            {
                "Sid": "EmptyOwnBucketsOnDestroy",
                "Effect": "Allow",
                "Action": ["s3:GetObjectVersion", "s3:DeleteObjectVersion"],
                "Resource": arns["object"],
            }
        )
    return statements


def _names(scope: DeployScope, account_id: str) -> list[str]:
    """The ARNs of resources named for the scope's stacks (`pingvas-<stack>-*`)."""
    prefix = f"pingvas-{scope.stacks}"
    return [
        f"arn:aws:s3:::{prefix}-*",
        f"arn:aws:s3:::{prefix}-*/*",
        f"arn:aws:iam::{account_id}:role/{prefix}-*",
        f"arn:aws:iam::{account_id}:policy/{prefix}-*",
        f"arn:aws:logs:*:{account_id}:log-group:*{prefix}-*",
    ]


def _tagged_outside(scope: DeployScope, key: str, *also: str) -> dict[str, Any]:
    """The condition: `key` (a `stack` tag) is set and names none of the scope's stacks
    (nor `also`)."""
    return {"StringNotLike": {key: [scope.stacks, *also]}, "Null": {key: "false"}}


def deploy_policy(
    scope: DeployScope, account_id: str, boundary_arn: str, domain: str
) -> dict[str, Any]:
    names = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
    records: list[dict[str, Any]] = [
        {
            # Route 53 has no tag conditions on records: the names are the fence.
            "Sid": "WriteOwnDnsRecords",
            "Effect": "Allow",
            "Action": "route53:ChangeResourceRecordSets",
            "Resource": "arn:aws:route53:::hostedzone/*",
            "Condition": {
                "ForAllValues:StringLike": {
                    names: [p.format(domain=domain) for p in scope.record_names]
                }
            },
        },
        {
            "Sid": "FollowDnsChanges",
            "Effect": "Allow",
            "Action": "route53:GetChange",
            "Resource": "*",
        },
        {
            # Into the cluster as the scope's deployer (components/delivery/deployers.py), whose EKS
            # access entry is scoped to the scope's namespaces.
            "Sid": "BecomeTheScopesClusterDeployer",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Resource": f"arn:aws:iam::{account_id}:role/pingvas-shared-deployer-{scope.key}",
        },
    ]
    if scope.record_names_denied:
        records.append(
            {
                "Sid": "NeverWriteOtherEnvironmentsRecords",
                "Effect": "Deny",
                "Action": "route53:ChangeResourceRecordSets",
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringLike": {
                        names: [p.format(domain=domain) for p in scope.record_names_denied]
                    }
                },
            }
        )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadMetadataForPreview",
                "Effect": "Allow",
                "Action": list(METADATA_READS),
                "Resource": "*",  # Describe/List calls take no resource
            },
            *_named_resource_statements(scope, account_id),
            {
                # The platform's own (`shared`) resources are not denied here: environments
                # attach to them (a Pod Identity association on the cluster, a security
                # group in the VPC). No Allow above grants changing them.
                "Sid": "NeverTouchAnotherStacksResources",
                "Effect": "Deny",
                "NotAction": list(METADATA_READS),
                "Resource": "*",
                "Condition": _tagged_outside(scope, "aws:ResourceTag/stack", "shared"),
            },
            {
                "Sid": "NeverMoveAResourceBetweenStacks",
                "Effect": "Deny",
                "Action": list(TAGGING),
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringEquals": {"aws:TagKeys": ["stack"]},
                    "Null": {"aws:ResourceTag/stack": "false"},
                },
            },
            {
                "Sid": "NeverTagForAnotherStack",
                "Effect": "Deny",
                "NotAction": list(METADATA_READS),
                "Resource": "*",
                "Condition": _tagged_outside(scope, "aws:RequestTag/stack"),
            },
            {
                "Sid": "RolesItMakesCarryTheBoundary",
                "Effect": "Deny",
                "Action": ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
            },
            *records,
            {
                "Sid": "NoBoundaryRemovedNoUsers",
                "Effect": "Deny",
                "Action": ["iam:DeleteRolePermissionsBoundary", "iam:CreateUser"],
                "Resource": "*",
            },
        ],
    }


def tagged_change_policies(scope: DeployScope) -> list[dict[str, Any]]:
    """Changes to resources tagged for the scope's stacks, and creation of resources only
    with such a tag: managed policies, in halves (IAM's 6,144-character limit)."""
    half = len(CHANGES) // 2
    return [
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"{sid}{part}",
                    "Effect": "Allow",
                    "Action": list(actions),
                    "Resource": "*",
                    "Condition": {"StringLike": {key: scope.stacks}},
                }
            ],
        }
        for sid, key in (
            ("ChangeResourcesOfOwnStacks", "aws:ResourceTag/stack"),
            ("CreateResourcesOnlyForOwnStacks", "aws:RequestTag/stack"),
        )
        for part, actions in enumerate((CHANGES[:half], CHANGES[half:]), start=1)
    ]


def boundary_policy(scope: DeployScope, account_id: str) -> dict[str, Any]:
    """The ceiling of the roles a deploy role creates: what the scope's pods need, on the
    scope's own resources (Pod Identity roles; components/iam.py)."""
    prefix = f"pingvas-{scope.stacks}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnBucketsAndTheModels",
                "Effect": "Allow",
                "Action": [action for action in POD_ACTIONS if action.startswith("s3:")],
                "Resource": [*_names(scope, account_id)[:2], *MODELS_BUCKET],
            },
            {
                "Sid": "OwnSecrets",
                "Effect": "Allow",
                "Action": [a for a in POD_ACTIONS if a.startswith("secretsmanager:")],
                # ...and the schema owner the platform keeps for the environment
                # (stacks/data.py), which its migrations log in as.
                "Resource": [
                    f"arn:aws:secretsmanager:*:{account_id}:secret:{prefix}-*",
                    f"arn:aws:secretsmanager:*:{account_id}:secret:"
                    f"pingvas-shared-{scope.stacks}-schema-owner-*",
                ],
            },
            {
                # The API drops a deleted image from its environment's CDN.
                "Sid": "InvalidateOwnCdn",
                "Effect": "Allow",
                "Action": "cloudfront:CreateInvalidation",
                "Resource": f"arn:aws:cloudfront::{account_id}:distribution/*",
                "Condition": {"StringLike": {"aws:ResourceTag/stack": scope.stacks}},
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
                "Condition": {"StringLike": {"aws:ResourceTag/stack": [scope.stacks, "shared"]}},
            },
            {
                "Sid": "NothingOfAnotherStack",
                "Effect": "Deny",
                "Action": list(POD_ACTIONS),
                "Resource": "*",
                "Condition": _tagged_outside(scope, "aws:ResourceTag/stack", "shared"),
            },
            {
                "Sid": "NoOtherStacksBuckets",
                "Effect": "Deny",
                "Action": [action for action in POD_ACTIONS if action.startswith("s3:")],
                "NotResource": [*_names(scope, account_id)[:2], *MODELS_BUCKET],
            },
        ],
    }
