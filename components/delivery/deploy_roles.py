"""The AWS roles GitHub Actions assumes through OIDC: no stored keys.

One role per deploy scope (deploy_policies.py: `pr`, `dev`, `prod`), each trusted only by
the OIDC subjects of the workflows that deploy it (.github/workflows) and able to change
only its own stacks' resources, an `images` role that pushes to the platform's ECR
repositories, and a read-only drift role per long-lived stack (drift_roles.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.delivery.deploy_actions import ECR_PUSH
from components.delivery.deploy_boundary import boundary_policy
from components.delivery.deploy_policies import (
    DEPLOY_SCOPES,
    IMAGE_PUSHERS,
    Account,
    DeployScope,
    StackNames,
    access_policy,
    deploy_policy,
    tagged_change_policies,
)
from components.delivery.drift_roles import (
    CLUSTER_READ_POLICY,
    NAMESPACE_READ_POLICY,
    DriftScope,
    drift_policy,
    drift_scopes,
    namespace_read_rules,
)
from components.delivery.github_oidc import (
    GITHUB_ISSUER,
    STS_AUDIENCE,
    TrustedWorkflow,
    web_identity_statement,
)
from components.delivery.preview_sessions import tag_session_trust
from components.delivery.review_state import context_bound_key_statements
from components.iam import access_policy_arn, arn, partition, policy_document


@dataclass
class DeployRolesArgs:
    repository: str  # owner/name
    account_id: pulumi.Input[str]
    domain: str  # the platform's DNS zone, where environments write their records
    # ECR repositories the images role pushes to.
    repository_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    # How resources are named, and the platform's stack, which every scope may attach to.
    names: StackNames
    create_oidc_provider: bool = True
    # The bucket of the review stacks' backends (review_state.py), one prefix per pull
    # request; None: previews keep their state elsewhere and the pr role reaches none.
    review_state_bucket: pulumi.Input[str] | None = None
    scopes: Sequence[DeployScope] = DEPLOY_SCOPES
    # The platform's cluster, which the drift roles read (the component's Kubernetes
    # provider, in its resource options, reaches it); None: they read none.
    cluster_name: pulumi.Input[str] | None = None
    max_session_seconds: int = 3600
    tags: Mapping[str, str] = field(default_factory=dict)


class DeployRoles(pulumi.ComponentResource):
    """GitHub's OIDC provider (or the account's existing one) and the deploy roles."""

    role_arns: pulumi.Output[dict[str, str]]  # scope key (and `images`) → role ARN
    boundary_arns: pulumi.Output[dict[str, str]]  # scope key → permissions boundary ARN
    drift_role_arns: pulumi.Output[dict[str, str]]  # long-lived stack → its drift role ARN
    oidc_provider_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DeployRolesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:delivery:DeployRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = pulumi.Output.from_input(args.account_id)
        in_partition = partition(self)
        # An OIDC provider's ARN is fixed by its issuer: the roles name it either way, and
        # wait for it where this component creates it.
        provider_arn = arn(
            in_partition, "iam", f"oidc-provider/{GITHUB_ISSUER}", account=args.account_id
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

        drift = {
            scope.stack: self._drift_role(name, scope, args, provider_arn)
            for scope in drift_scopes(args.names.platform_stack, args.scopes)
        }
        roles: dict[str, pulumi.Output[str]] = {}
        boundaries: dict[str, pulumi.Output[str]] = {}
        for scope in args.scopes:
            boundary = aws.iam.Policy(
                f"{name}-{scope.key}-boundary",
                name=f"{name}-{scope.key}-boundary",
                description=f"The most a role made by the {scope.key} deploy role may do",
                policy=pulumi.Output.all(in_partition, account).apply(
                    _boundary_json(scope, args.names)
                ),
                opts=child,
            )
            role = self._role(name, scope.key, scope.trusted, args, provider_arn, scope.session_tag)
            aws.iam.RolePolicy(
                f"{name}-{scope.key}",
                role=role.id,
                policy=pulumi.Output.all(in_partition, account, boundary.arn).apply(
                    _deploy_json(scope, args.names)
                ),
                opts=child,
            )
            managed: dict[str, tuple[str, pulumi.Input[str]]] = {
                f"changes-{index}": (
                    f"What the {scope.key} deploy role changes, by the stack tag",
                    json.dumps(document),
                )
                for index, document in enumerate(tagged_change_policies(scope), start=1)
            }
            managed["access"] = (
                f"The {scope.key} deploy role's DNS records and way into the cluster",
                pulumi.Output.all(
                    in_partition,
                    account,
                    args.review_state_bucket if scope.session_tag else None,
                ).apply(_access_json(scope, args.names, args.domain)),
            )
            for suffix, (description, document) in managed.items():
                policy = aws.iam.Policy(
                    f"{name}-{scope.key}-{suffix}",
                    name=f"{name}-{scope.key}-{suffix}",
                    description=description,
                    policy=document,
                    opts=child,
                )
                aws.iam.RolePolicyAttachment(
                    f"{name}-{scope.key}-{suffix}",
                    role=role.name,
                    policy_arn=policy.arn,
                    opts=child,
                )
            self._state_key(name, scope, role, args, drift.get(scope.key))
            roles[scope.key] = role.arn
            boundaries[scope.key] = boundary.arn

        images = self._role(name, "images", IMAGE_PUSHERS, args, provider_arn)
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
        self.drift_role_arns = pulumi.Output.all(**{k: r.arn for k, r in drift.items()})
        self.register_outputs(
            {
                "role_arns": self.role_arns,
                "boundary_arns": self.boundary_arns,
                "drift_role_arns": self.drift_role_arns,
                "oidc_provider_arn": self.oidc_provider_arn,
            }
        )

    def _state_key(
        self,
        name: str,
        scope: DeployScope,
        role: aws.iam.Role,
        args: DeployRolesArgs,
        drift_role: aws.iam.Role | None,
    ) -> aws.kms.Key:
        """The KMS key of the scope's stacks' Pulumi secrets provider (`awskms://alias/
        <name>-<key>-state`, Pulumi.<stack>.yaml): only the scope's deploy role encrypts and
        decrypts with it (a tagged scope's sessions only under their own encryption
        context), and its drift role decrypts; the account manages it but may not use it.
        Protected: without it the stacks' state secrets are lost."""
        key = scope.key
        tagged = scope.session_tag is not None
        child = pulumi.ResourceOptions(parent=self)
        state_key = aws.kms.Key(
            f"{name}-{key}-state",
            description=f"Pulumi state secrets of the {key} stacks",
            enable_key_rotation=True,
            policy=pulumi.Output.all(
                partition(self), args.account_id, role.arn, drift_role and drift_role.arn
            ).apply(
                lambda values: json.dumps(
                    state_key_policy(
                        *values[:3], drift_role_arn=values[3], per_session_context=tagged
                    )
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.kms.Alias(
            f"{name}-{key}-state",
            name=f"alias/{name}-{key}-state",
            target_key_id=state_key.key_id,
            opts=child,
        )
        return state_key

    def _drift_role(
        self,
        name: str,
        scope: DriftScope,
        args: DeployRolesArgs,
        provider_arn: pulumi.Input[str],
    ) -> aws.iam.Role:
        """The stack's drift role (drift_roles.py) and its read of the cluster: the
        platform's of all of it, an environment's of its own namespace."""
        role_name = f"{name}-drift-{scope.stack}"
        role = aws.iam.Role(
            role_name,
            name=role_name,
            description=f"GitHub Actions ({args.repository}) reading {scope.stack} for drift",
            max_session_duration=args.max_session_seconds,
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn_: json.dumps(trust_policy(arn_, args.repository, scope.trusted))
            ),
            opts=self._role_options,
        )
        child = pulumi.ResourceOptions(parent=self)
        aws.iam.RolePolicy(role_name, role=role.id, policy=json.dumps(drift_policy()), opts=child)
        if args.cluster_name is None:
            return role
        entry = aws.eks.AccessEntry(
            role_name,
            cluster_name=args.cluster_name,
            principal_arn=role.arn,
            type="STANDARD",
            kubernetes_groups=None if scope.reads_cluster else [scope.group],
            opts=child,
        )
        scoped = aws.eks.AccessPolicyAssociationAccessScopeArgs
        aws.eks.AccessPolicyAssociation(
            role_name,
            cluster_name=args.cluster_name,
            principal_arn=role.arn,
            policy_arn=access_policy_arn(
                partition(self),
                CLUSTER_READ_POLICY if scope.reads_cluster else NAMESPACE_READ_POLICY,
            ),
            access_scope=scoped(type="cluster")
            if scope.reads_cluster
            else scoped(type="namespace", namespaces=[scope.stack]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[entry]),
        )
        if not scope.reads_cluster:
            self._namespace_reader(role_name, scope, child)
        return role

    @staticmethod
    def _namespace_reader(name: str, scope: DriftScope, child: pulumi.ResourceOptions) -> None:
        """The ClusterRole of an environment's own Namespace object, bound to its group."""
        rbac = k8s.rbac.v1
        metadata = k8s.meta.v1.ObjectMetaArgs(name=f"pingvas-drift-{scope.stack}")
        rbac.ClusterRole(
            name,
            metadata=metadata,
            rules=[
                rbac.PolicyRuleArgs(
                    api_groups=rule["apiGroups"],
                    resources=rule["resources"],
                    resource_names=rule["resourceNames"],
                    verbs=rule["verbs"],
                )
                for rule in namespace_read_rules(scope.stack)
            ],
            opts=child,
        )
        rbac.ClusterRoleBinding(
            name,
            metadata=metadata,
            role_ref=rbac.RoleRefArgs(
                api_group="rbac.authorization.k8s.io",
                kind="ClusterRole",
                name=f"pingvas-drift-{scope.stack}",
            ),
            subjects=[
                rbac.SubjectArgs(
                    api_group="rbac.authorization.k8s.io", kind="Group", name=scope.group
                )
            ],
            opts=child,
        )

    def _role(
        self,
        name: str,
        key: str,
        trusted: Sequence[TrustedWorkflow],
        args: DeployRolesArgs,
        provider_arn: pulumi.Input[str],
        session_tag: str | None = None,
    ) -> aws.iam.Role:
        role_name = f"{name}-{key}"
        return aws.iam.Role(
            role_name,
            name=role_name,
            description=f"GitHub Actions ({args.repository}) deploying {key}",
            max_session_duration=args.max_session_seconds,
            assume_role_policy=pulumi.Output.all(
                provider_arn, partition(self), args.account_id
            ).apply(
                lambda values: json.dumps(
                    trust_policy(
                        values[0],
                        args.repository,
                        trusted,
                        # The role's own ARN, for a session that re-assumes it with a tag.
                        (
                            f"arn:{values[1]}:iam::{values[2]}:root",
                            f"arn:{values[1]}:iam::{values[2]}:role/{role_name}",
                        )
                        if session_tag
                        else None,
                    )
                )
            ),
            opts=self._role_options,
        )


def _boundary_json(scope: DeployScope, names: StackNames) -> Callable[[list[str]], str]:
    """From the resolved [partition, account id]."""
    return lambda values: json.dumps(boundary_policy(scope, names, Account(*values)))


def _access_json(
    scope: DeployScope, names: StackNames, domain: str
) -> Callable[[list[str | None]], str]:
    """From the resolved [partition, account id, review state bucket or None]."""
    return lambda values: json.dumps(
        access_policy(
            scope, names, Account(str(values[0]), str(values[1])), domain, state_bucket=values[2]
        )
    )


def _deploy_json(scope: DeployScope, names: StackNames) -> Callable[[list[str]], str]:
    """From the resolved [partition, account id, boundary ARN]."""
    return lambda values: json.dumps(
        deploy_policy(scope, names, Account(values[0], values[1]), values[2])
    )


# What the account's administrators (who run `shared`) do with a state key: manage it, but
# neither use it nor grant its use (no kms:CreateGrant). Changing its policy stays theirs,
# as KMS refuses a policy that locks every principal out of that; no deploy role holds it.
KEY_ADMINISTRATION = (
    "kms:CreateAlias",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
)
STATE_SECRETS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey")


def state_key_policy(
    in_partition: str,
    account_id: str,
    role_arn: str,
    *,
    drift_role_arn: str | None = None,
    per_session_context: bool = False,
) -> dict[str, Any]:
    """Only `role_arn` reads or writes the state's secrets (with `per_session_context`,
    each session only under the encryption context of its own `pr` tag) and
    `drift_role_arn` reads them; the account (so its IAM administrators) manages the
    key, never decrypts with it."""
    use: list[dict[str, Any]] = (
        context_bound_key_statements(role_arn)
        if per_session_context
        else [
            {
                "Sid": "OnlyTheScopesDeployRoleUsesIt",
                "Effect": "Allow",
                "Principal": {"AWS": role_arn},
                "Action": list(STATE_SECRETS),
                "Resource": "*",
            }
        ]
    )
    if drift_role_arn is not None:
        use.append(
            {
                # The stack's data key (Pulumi.<stack>.yaml's encryptedkey), to read: a
                # refresh preview writes no state.
                "Sid": "TheDriftCheckOnlyDecrypts",
                "Effect": "Allow",
                "Principal": {"AWS": drift_role_arn},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
            }
        )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManagesTheKey",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{in_partition}:iam::{account_id}:root"},
                "Action": list(KEY_ADMINISTRATION),
                "Resource": "*",
            },
            *use,
        ],
    }


def trust_policy(
    provider_arn: str,
    repository: str,
    trusted: Sequence[TrustedWorkflow],
    tagged_by: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Only GitHub's tokens for `trusted` jobs of `repository`, for STS; with `tagged_by`
    (the account root and the role), also the role's own session, to tag itself."""
    statements = [web_identity_statement(provider_arn, repository, trusted)]
    if tagged_by is not None:
        statements.append(tag_session_trust(*tagged_by))
    return {"Version": "2012-10-17", "Statement": statements}
