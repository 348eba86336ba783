"""The permission policies of the AWS roles GitHub Actions assumes through OIDC
(deploy_roles.py, which holds their trust policies).

One role per deploy scope, each trusted only by the OIDC subjects of the workflows that
deploy it (.github/workflows), and able to change only the resources of its own stacks:

- `pr`   — `pull_request` and the `review` environment: stacks `pr-*`;
- `dev`  — the `development` environment: stack `dev`;
- `prod` — the `production` environment (required reviewers): stack `prod`;
- `images` — pushes from `main` and `v*` tags: the platform's ECR repositories, push only.

"Its own stacks" is enforced three ways, all with conditions on the `stack` tag that the
stacks' AWS provider puts on everything (stacks/tagging.py): Allow statements grant
changes only to resources tagged with (or created with) one of the scope's stacks, or
named `<project>-<stack>-*`; a Deny stops any change to a resource tagged with another
stack and any tag that would move a resource into another stack; and roles the deploy
role creates must carry the scope's permissions boundary, so no role it makes can do more
than the scope's pods need (no way around the first two through a new role).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.delivery.deploy_actions import (
    BOUNDED_ROLE_CHANGES,
    CLUSTER_ACCESS,
    EC2_TAGGING,
    IAM_CHANGES,
    METADATA_READS,
    MODEL_READS,
    NAMED_ACTIONS,
    PASS_ROLE_TO,
    POD_ACTIONS,
    TAGGING,
    TAGGING_BY_ID,
    TAGGING_BY_NAME,
    changes,
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
    # The services it changes by the stack tag (deploy_actions.CHANGE_VERBS, or `eks`):
    # those its stacks create resources in, besides IAM, S3 and Route 53 (by name).
    services: tuple[str, ...] = (
        "acm",
        "cloudfront",
        "cloudwatch",
        "eks",
        "elasticache",
        "secretsmanager",
    )
    # Ephemeral stacks force-destroy their versioned buckets, which deletes every version;
    # long-lived stacks never erase history (policy rule `no-object-version-deletes`).
    erases_object_history: bool = False


DEPLOY_SCOPES = (
    DeployScope(
        "pr",
        ("pull_request", "environment:review"),
        "pr-*",
        ("*pr-*.{domain}",),
        # Previews make no certificate, CDN, alarm or managed Redis.
        services=("eks", "secretsmanager"),
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


@dataclass(frozen=True)
class StackNames:
    """How the project names its stacks' resources (`<project>-<stack>-*`, infra/naming.py)
    and which stack holds the platform (the models bucket, the deployers, the schema
    owners), whose resources environments attach to."""

    project: str
    platform_stack: str

    def prefix(self, stacks: str) -> str:
        return f"{self.project}-{stacks}"

    @property
    def platform_prefix(self) -> str:
        return self.prefix(self.platform_stack)

    def models_bucket(self, partition: str) -> tuple[str, str]:
        """The platform's models bucket (stacks/data.py), which workers may read."""
        bucket = f"arn:{partition}:s3:::{self.platform_prefix}-models-*"
        return bucket, f"{bucket}/*"


@dataclass(frozen=True)
class Account:
    """The account the documents are for and its AWS provider's partition (`aws`,
    `aws-cn`, `aws-us-gov`), resolved: deploy_roles.py builds the documents in an apply."""

    partition: str
    id: str


def _named_resource_statements(
    scope: DeployScope, names: StackNames, account: Account
) -> list[dict[str, Any]]:
    arns = dict(zip(NAMED_ACTIONS, _arns_named_for(scope, names, account), strict=True))
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


def _arns_named_for(scope: DeployScope, names: StackNames, account: Account) -> list[str]:
    """The ARNs of resources named for the scope's stacks (`<project>-<stack>-*`)."""
    prefix = names.prefix(scope.stacks)
    return [
        f"arn:{account.partition}:s3:::{prefix}-*",
        f"arn:{account.partition}:s3:::{prefix}-*/*",
        f"arn:{account.partition}:iam::{account.id}:role/{prefix}-*",
        f"arn:{account.partition}:iam::{account.id}:policy/{prefix}-*",
        f"arn:{account.partition}:logs:*:{account.id}:log-group:*{prefix}-*",
    ]


def _owned_arns(scope: DeployScope, names: StackNames, account: Account) -> list[str]:
    """The ARNs of the scope's resources in every service whose ARNs carry a name."""
    prefix = names.prefix(scope.stacks)
    return [
        *_arns_named_for(scope, names, account),
        f"arn:{account.partition}:secretsmanager:*:{account.id}:secret:{prefix}-*",
        f"arn:{account.partition}:elasticache:*:{account.id}:*:{prefix}-*",
        f"arn:{account.partition}:cloudwatch:*:{account.id}:alarm:{prefix}-*",
    ]


def _platform_arns(names: StackNames, account: Account) -> list[str]:
    """Resources named for the platform that no tag condition protects: Karpenter's
    interruption rules and queue, the models (and every platform) bucket's objects."""
    prefix = names.platform_prefix
    return [
        f"arn:{account.partition}:events:*:{account.id}:rule/{prefix}-*",
        f"arn:{account.partition}:events:*:{account.id}:rule/*/{prefix}-*",
        f"arn:{account.partition}:sqs:*:{account.id}:{prefix}-*",
        f"arn:{account.partition}:sns:*:{account.id}:{prefix}-*",
        f"arn:{account.partition}:s3:::{prefix}-*",
        f"arn:{account.partition}:s3:::{prefix}-*/*",
        f"arn:{account.partition}:secretsmanager:*:{account.id}:secret:{prefix}-*",
    ]


def _stack_tag_keys() -> dict[str, Any]:
    return {"ForAnyValue:StringEquals": {"aws:TagKeys": ["stack"]}}


def _privilege_fences(
    scope: DeployScope, names: StackNames, account: Account, boundary_arn: str
) -> list[dict[str, Any]]:
    """The Denies that keep a deploy role from raising its own privileges or taking what
    it did not create (issue 22, item 1; tests/infra/test_deploy_role_attacks.py)."""
    prefix = names.prefix(scope.stacks)
    iam = f"arn:{account.partition}:iam::{account.id}"
    generated_ids = [a for a in TAGGING_BY_ID if a.split(":")[0] in scope.services]
    return [
        {
            "Sid": "NoClusterAccessChanges",
            "Effect": "Deny",
            "Action": list(CLUSTER_ACCESS),
            "Resource": "*",
        },
        {
            "Sid": "PodIdentityOnlyOnThePlatformCluster",
            "Effect": "Deny",
            "Action": "eks:CreatePodIdentityAssociation",
            "NotResource": (
                f"arn:{account.partition}:eks:*:{account.id}:cluster/{names.platform_prefix}-*"
            ),
        },
        {
            # Tag-on-create: EC2 tags a new resource through CreateTags, with the create
            # call in `ec2:CreateAction`; outside one, CreateTags would take an existing one.
            "Sid": "Ec2StackTagOnlyOnCreate",
            "Effect": "Deny",
            "Action": list(EC2_TAGGING),
            "Resource": "*",
            "Condition": {**_stack_tag_keys(), "Null": {"ec2:CreateAction": "true"}},
        },
        {
            # Named resources: the `stack` tag only on those named for the scope's stacks,
            # so an untagged role, user, policy, secret, queue or rule is never "tagged
            # and taken". Services with generated ids tag through the create half only.
            "Sid": "StackTagOnlyOnOwnNamedResources",
            "Effect": "Deny",
            "Action": [
                *TAGGING_BY_NAME,
                *(a for a in TAGGING_BY_ID if a not in generated_ids),
            ],
            "NotResource": _owned_arns(scope, names, account),
            "Condition": _stack_tag_keys(),
        },
        {
            # No users, access keys, login profiles, groups, providers or policy versions:
            # IAM only on roles and managed policies named for the scope's stacks.
            "Sid": "IamOnlyUnderOwnPrefix",
            "Effect": "Deny",
            "Action": list(IAM_CHANGES),
            "NotResource": [f"{iam}:role/{prefix}-*", f"{iam}:policy/{prefix}-*"],
        },
        {
            "Sid": "RolesItMakesOrChangesCarryTheBoundary",
            "Effect": "Deny",
            "Action": list(BOUNDED_ROLE_CHANGES),
            "Resource": "*",
            "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn}},
        },
        {
            "Sid": "AttachOnlyOwnPolicies",
            "Effect": "Deny",
            "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            "Resource": "*",
            "Condition": {"ArnNotLike": {"iam:PolicyARN": f"{iam}:policy/{prefix}-*"}},
        },
        {
            "Sid": "NoBoundaryRemoved",
            "Effect": "Deny",
            "Action": "iam:DeleteRolePermissionsBoundary",
            "Resource": "*",
        },
        {
            "Sid": "NothingNamedForThePlatform",
            "Effect": "Deny",
            "NotAction": list(METADATA_READS),
            "Resource": _platform_arns(names, account),
        },
        {
            "Sid": "PassOwnRolesToPodIdentity",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"{iam}:role/{prefix}-*",
            "Condition": {"StringEquals": {"iam:PassedToService": list(PASS_ROLE_TO)}},
        },
    ]


def _tagged_outside(scope: DeployScope, key: str, *also: str) -> dict[str, Any]:
    """The condition: `key` (a `stack` tag) is set and names none of the scope's stacks
    (nor `also`)."""
    return {"StringNotLike": {key: [scope.stacks, *also]}, "Null": {key: "false"}}


def deploy_policy(
    scope: DeployScope, names: StackNames, account: Account, boundary_arn: str, domain: str
) -> dict[str, Any]:
    record_names = "route53:ChangeResourceRecordSetsNormalizedRecordNames"
    records: list[dict[str, Any]] = [
        {
            # Route 53 has no tag conditions on records: the names are the fence.
            "Sid": "WriteOwnDnsRecords",
            "Effect": "Allow",
            "Action": "route53:ChangeResourceRecordSets",
            "Resource": f"arn:{account.partition}:route53:::hostedzone/*",
            "Condition": {
                "ForAllValues:StringLike": {
                    record_names: [p.format(domain=domain) for p in scope.record_names]
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
            "Resource": (
                f"arn:{account.partition}:iam::{account.id}:role/"
                f"{names.platform_prefix}-deployer-{scope.key}"
            ),
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
                        record_names: [p.format(domain=domain) for p in scope.record_names_denied]
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
            *_named_resource_statements(scope, names, account),
            {
                # The platform's own resources are not denied here: environments
                # attach to them (a Pod Identity association on the cluster, a security
                # group in the VPC). No Allow above grants changing them.
                "Sid": "NeverTouchAnotherStacksResources",
                "Effect": "Deny",
                "NotAction": list(METADATA_READS),
                "Resource": "*",
                "Condition": _tagged_outside(scope, "aws:ResourceTag/stack", names.platform_stack),
            },
            {
                "Sid": "NeverMoveAResourceBetweenStacks",
                "Effect": "Deny",
                "Action": list(TAGGING),
                "Resource": "*",
                "Condition": {**_stack_tag_keys(), "Null": {"aws:ResourceTag/stack": "false"}},
            },
            {
                "Sid": "NeverTagForAnotherStack",
                "Effect": "Deny",
                "NotAction": list(METADATA_READS),
                "Resource": "*",
                "Condition": _tagged_outside(scope, "aws:RequestTag/stack"),
            },
            *_privilege_fences(scope, names, account, boundary_arn),
            *records,
        ],
    }


def tagged_change_policies(scope: DeployScope) -> list[dict[str, Any]]:
    """Changes to resources tagged for the scope's stacks, and creation of resources only
    with such a tag: managed policies, in halves (IAM's 6,144-character limit)."""
    granted = changes(scope.services)
    half = len(granted) // 2
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
        for part, actions in enumerate((granted[:half], granted[half:]), start=1)
    ]


def boundary_policy(scope: DeployScope, names: StackNames, account: Account) -> dict[str, Any]:
    """The ceiling of the roles a deploy role creates: what the scope's pods need, on the
    scope's own resources (Pod Identity roles; components/iam.py)."""
    prefix = names.prefix(scope.stacks)
    own_buckets = _arns_named_for(scope, names, account)[:2]
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
                    f"{names.platform_prefix}-{scope.stacks}-schema-owner-*",
                ],
            },
            {
                # The API drops a deleted image from its environment's CDN.
                "Sid": "InvalidateOwnCdn",
                "Effect": "Allow",
                "Action": "cloudfront:CreateInvalidation",
                "Resource": f"arn:{account.partition}:cloudfront::{account.id}:distribution/*",
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
                "Condition": {
                    "StringLike": {"aws:ResourceTag/stack": [scope.stacks, names.platform_stack]}
                },
            },
            {
                "Sid": "NothingOfAnotherStack",
                "Effect": "Deny",
                "Action": list(POD_ACTIONS),
                "Resource": "*",
                "Condition": _tagged_outside(scope, "aws:ResourceTag/stack", names.platform_stack),
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
