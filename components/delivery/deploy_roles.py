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
from typing import Any

import pulumi
import pulumi_aws as aws

from components.delivery.deploy_actions import ECR_PUSH
from components.delivery.deploy_policies import (
    DEPLOY_SCOPES,
    IMAGE_SUBJECTS,
    Account,
    DeployScope,
    StackNames,
    boundary_policy,
    deploy_policy,
    tagged_change_policies,
)
from components.iam import arn, partition, policy_document

GITHUB_ISSUER = "token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"


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
            role = self._role(name, scope.key, scope.subjects, args, provider_arn)
            aws.iam.RolePolicy(
                f"{name}-{scope.key}",
                role=role.id,
                policy=pulumi.Output.all(in_partition, account, boundary.arn).apply(
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


def _boundary_json(scope: DeployScope, names: StackNames) -> Callable[[list[str]], str]:
    """From the resolved [partition, account id]."""
    return lambda values: json.dumps(boundary_policy(scope, names, Account(*values)))


def _deploy_json(scope: DeployScope, names: StackNames, domain: str) -> Callable[[list[str]], str]:
    """From the resolved [partition, account id, boundary ARN]."""
    return lambda values: json.dumps(
        deploy_policy(scope, names, Account(values[0], values[1]), values[2], domain)
    )


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
