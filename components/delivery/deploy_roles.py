"""The AWS roles GitHub Actions assumes through OIDC: no stored keys.

One role per deploy scope (deploy_policies.py: `pr`, `dev`, `prod`), each trusted only by
the OIDC subjects of the workflows that deploy it (.github/workflows) and able to change
only its own stacks' resources, and an `images` role that pushes to the platform's ECR
repositories.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components.delivery.deploy_actions import ECR_PUSH
from components.delivery.deploy_policies import (
    DEPLOY_SCOPES,
    GITHUB_ISSUER,
    IMAGE_SUBJECTS,
    STS_AUDIENCE,
    DeployScope,
    StackNames,
    boundary_policy,
    deploy_policy,
    tagged_change_policies,
    trust_policy,
)
from components.iam import policy_document


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
                policy=account.apply(_boundary_json(scope, args.names)),
                opts=child,
            )
            role = self._role(name, scope.key, scope.subjects, args, provider_arn)
            aws.iam.RolePolicy(
                f"{name}-{scope.key}",
                role=role.id,
                policy=pulumi.Output.all(account, boundary.arn).apply(
                    _deploy_json(scope, args.names, args.domain)
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


def _boundary_json(scope: DeployScope, names: StackNames) -> Callable[[str], str]:
    return lambda account_id: json.dumps(boundary_policy(scope, names, account_id))


def _deploy_json(scope: DeployScope, names: StackNames, domain: str) -> Callable[[list[str]], str]:
    return lambda values: json.dumps(deploy_policy(scope, names, values[0], values[1], domain))
