"""The permission policies of the AWS roles GitHub Actions assumes through OIDC
(deploy_roles.py, which holds their trust policies).

One role per deploy scope, each trusted only by the OIDC subjects of the workflows that
deploy it (.github/workflows), and able to change only the resources of its own stacks:

- `pr`   — the `review` environment of review-stack.yaml: stack `pr-<N>` of the session's
  `pr` tag (components/delivery/preview_sessions.py);
- `dev`  — the `development` environment of cd-dev.yaml: stack `dev`;
- `prod` — the `production` environment of cd-prod.yaml (required reviewers): stack `prod`;
- `images` — images.yaml from `main`: the platform's ECR repositories, push only.

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
    EVENT_SOURCES,
    IAM_CHANGES,
    METADATA_READS,
    NAMED_ACTIONS,
    PASS_ROLE_TO,
    TAGGING,
    TAGGING_BY_ID,
    TAGGING_BY_NAME,
    changes,
)
from components.delivery.github_oidc import TrustedWorkflow
from components.delivery.preview_sessions import OWN_PREVIEW, PR_TAG, session_statements
from components.delivery.review_state import state_bucket_statements


@dataclass(frozen=True)
class DeployScope:
    """One GitHub identity and the stacks it may change."""

    key: str
    # The jobs whose OIDC tokens may assume it (github_oidc.py).
    trusted: tuple[TrustedWorkflow, ...]
    # The names of the stacks it deploys, as a pattern (`pr-*`).
    stack_pattern: str
    # The `stack` tag value (and name part) of what one session may change: the stack
    # itself, or for previews the one of the session's `pr` tag.
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
        "events",
        "secretsmanager",
    )
    # Ephemeral stacks force-destroy their versioned buckets, which deletes every version;
    # long-lived stacks never erase history (policy rule `no-object-version-deletes`).
    erases_object_history: bool = False
    # The session tag that names its stack (previews: `pr`), set by the trusted workflow.
    session_tag: str | None = None
    # What the roles it makes may reach, from the pods' own Pod Identity session: a
    # preview's pods, their namespace's (`kubernetes-namespace`, an EKS session tag).
    pod_stacks: str | None = None

    @property
    def boundary_stacks(self) -> str:
        return self.pod_stacks or self.stacks


DEPLOY_SCOPES = (
    DeployScope(
        "pr",
        (TrustedWorkflow("environment:review", "review-stack.yaml"),),
        "pr-*",
        OWN_PREVIEW,
        # `<service>.pr-<N>.<domain>`, the preview ingress's `pr-<N>.pr.<domain>`
        # (components/edge/preview_ingress.py) and ExternalDNS's `<type>-` TXT records.
        tuple(
            p.replace("N", OWN_PREVIEW)
            for p in ("*.N.{domain}", "N.pr.{domain}", "*-N.pr.{domain}")
        ),
        # Previews make no certificate, CDN, alarm or managed Redis.
        services=("eks", "secretsmanager"),
        erases_object_history=True,
        session_tag=PR_TAG,
        pod_stacks="${aws:PrincipalTag/kubernetes-namespace}",
    ),
    DeployScope(
        "dev",
        # The nightly drift check reads dev through a role of its own (drift_roles.py).
        (TrustedWorkflow("environment:development", "cd-dev.yaml"),),
        "dev",
        "dev",
        ("*.dev.{domain}",),
    ),
    DeployScope(
        "prod",
        # A release runs cd-prod.yaml from its tag; the setup script lets only
        # maintainers create `v*` tags, and the environment demands two approvals.
        (TrustedWorkflow("environment:production", "cd-prod.yaml", "refs/tags/v*"),),
        "prod",
        "prod",
        ("{domain}", "*.{domain}"),
        ("*.dev.{domain}", "*pr-*.{domain}", "*.pr.{domain}"),
    ),
)
# Images are pushed by images.yaml as the default branch runs it: called by cd-dev (a push
# to main) and by the review workflow (pull_request_target, from main) — never by a
# workflow a pull request or a tag can edit.
IMAGE_PUSHERS = (
    TrustedWorkflow("ref:refs/heads/main", "images.yaml"),
    TrustedWorkflow("pull_request", "images.yaml"),
)


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
    arns = dict(zip(NAMED_ACTIONS, arns_named_for(scope.stacks, names, account), strict=True))
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


def arns_named_for(stacks: str, names: StackNames, account: Account) -> list[str]:
    """The ARNs of resources named for `stacks` (`<project>-<stack>-*`)."""
    prefix = names.prefix(stacks)
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
        *arns_named_for(scope.stacks, names, account),
        f"arn:{account.partition}:secretsmanager:*:{account.id}:secret:{prefix}-*",
        f"arn:{account.partition}:elasticache:*:{account.id}:*:{prefix}-*",
        f"arn:{account.partition}:cloudwatch:*:{account.id}:alarm:{prefix}-*",
        f"arn:{account.partition}:events:*:{account.id}:rule/{prefix}-*",
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
    # Like IAM: a rule routes events to any target, so a scope that changes EventBridge
    # changes the rules named for its stacks only, whatever a rule's tags say (a scope
    # without it is granted no EventBridge change at all); its rules match ElastiCache's
    # events alone and send them to the operations topic alone, not to another account's
    # bus or function (`IfExists`: a request without the key is refused too). The topic
    # is the platform's `operations` (stacks/operations.py).
    topic = f"arn:{account.partition}:sns:*:{account.id}:{names.platform_prefix}-operations"
    event_rules: list[dict[str, Any]] = [
        {
            "Sid": "EventRulesOnlyUnderOwnPrefix",
            "Effect": "Deny",
            "Action": list(changes(("events",))),
            "NotResource": f"arn:{account.partition}:events:*:{account.id}:rule/{prefix}-*",
        },
        {
            "Sid": "EventRulesOnlyForCacheEvents",
            "Effect": "Deny",
            "Action": "events:PutRule",
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringNotEqualsIfExists": {"events:source": list(EVENT_SOURCES)}
            },
        },
        {
            "Sid": "EventTargetsOnlyTheOperationsTopic",
            "Effect": "Deny",
            "Action": "events:PutTargets",
            "Resource": "*",
            "Condition": {"ForAnyValue:ArnNotLikeIfExists": {"events:TargetArn": topic}},
        },
    ]
    return [
        *(event_rules if "events" in scope.services else []),
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


def tagged_outside(stacks: str, key: str, *also: str) -> dict[str, Any]:
    """The condition: `key` (a `stack` tag) is set and names none of `stacks` (nor
    `also`)."""
    return {"StringNotLike": {key: [stacks, *also]}, "Null": {key: "false"}}


def _role_arn(scope: DeployScope, names: StackNames, account: Account) -> str:
    """The scope's deploy role (deploy_roles.py names it `<platform>-deploy-<scope>`)."""
    role = f"{names.platform_prefix}-deploy-{scope.key}"
    return f"arn:{account.partition}:iam::{account.id}:role/{role}"


def access_policy(
    scope: DeployScope,
    names: StackNames,
    account: Account,
    domain: str,
    state_bucket: str | None = None,
) -> dict[str, Any]:
    """DNS records by name, the way into the cluster and, for a scope whose sessions carry
    a tag, the Deny on sessions without it and their own prefix of the `state_bucket`
    (review_state.py): a managed policy (the inline one is full)."""
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
                    record_names: [p.replace("{domain}", domain) for p in scope.record_names]
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
            # Into the cluster as the scope's deployer (components/delivery/deployers.py),
            # whose EKS access is its namespaces' (a preview's: by its session name).
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
                        record_names: [
                            p.replace("{domain}", domain) for p in scope.record_names_denied
                        ]
                    }
                },
            }
        )
    if scope.session_tag:
        records.extend(session_statements(_role_arn(scope, names, account)))
        if state_bucket:
            records.extend(state_bucket_statements(f"arn:{account.partition}:s3:::{state_bucket}"))
    return {"Version": "2012-10-17", "Statement": records}


def deploy_policy(
    scope: DeployScope, names: StackNames, account: Account, boundary_arn: str
) -> dict[str, Any]:
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
                "Condition": tagged_outside(
                    scope.stacks, "aws:ResourceTag/stack", names.platform_stack
                ),
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
                "Condition": tagged_outside(scope.stacks, "aws:RequestTag/stack"),
            },
            *_privilege_fences(scope, names, account, boundary_arn),
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
