"""Delivery: the roles GitHub Actions deploys with (platform), and the permissions
boundary that every role an environment creates carries (environments)."""

from __future__ import annotations

import fnmatch
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.data.bucket import Bucket, BucketArgs, LifecycleRule
from components.delivery.deploy_policies import DEPLOY_SCOPES, StackNames
from components.delivery.deploy_roles import DeployRoles, DeployRolesArgs
from components.iam import arn, partition
from infra.config import PROJECT, PlatformSettings, StackConfig
from infra.naming import Naming
from stacks.contract import PlatformOutputs
from stacks.tagging import child_options


def deploy_scope(stack: str) -> str | None:
    """The deploy scope (`pr`, `dev`, `prod`) whose role deploys `stack`, if any."""
    for scope in DEPLOY_SCOPES:
        if fnmatch.fnmatchcase(stack, scope.stack_pattern):
            return scope.key
    return None


def build_deploy_roles(
    config: StackConfig,
    settings: PlatformSettings,
    provider: aws.Provider,
    cluster_name: pulumi.Input[str],
    kubernetes: k8s.Provider,
) -> dict[str, Any]:
    """The platform's deploy and drift roles, as PlatformOutputs fields (empty when no
    repository is configured)."""
    repository = settings.deploy_roles.github_repository
    if repository is None:
        return {
            "deploy_role_arns": {},
            "deploy_boundary_arns": {},
            "drift_role_arns": {},
            "review_state_bucket": "",
        }
    naming = Naming(config.stack)
    account = aws.get_caller_identity_output(
        opts=pulumi.InvokeOutputOptions(provider=provider)
    ).account_id
    in_partition = partition(provider)
    review_state = build_review_state(config, provider, account)
    roles = DeployRoles(
        naming.name("deploy"),
        DeployRolesArgs(
            repository=repository,
            account_id=account,
            domain=settings.edge.domain,
            repository_arns=[
                arn(
                    in_partition,
                    "ecr",
                    f"repository/{naming.name(image)}",
                    region=config.region,
                    account=account,
                )
                for image in settings.registry.repositories
            ],
            names=StackNames(project=PROJECT, platform_stack=config.stack),
            create_oidc_provider=settings.deploy_roles.create_oidc_provider,
            review_state_bucket=review_state.bucket_name,
            cluster_name=cluster_name,
        ),
        opts=child_options(provider, kubernetes),
    )
    return {
        "deploy_role_arns": roles.role_arns,
        "deploy_boundary_arns": roles.boundary_arns,
        "drift_role_arns": roles.drift_role_arns,
        "review_state_bucket": review_state.bucket_name,
    }


# The review stacks' backends are named for no stack: under the platform's prefix the
# deploy roles' Deny on everything named for the platform would stop the pr sessions at
# their own state too, and no scope's names (`pingvas-<dev|prod|pr-N>-*`) reach it.
REVIEW_STATE = Naming("review")


def build_review_state(
    config: StackConfig, provider: aws.Provider, account: pulumi.Output[str]
) -> Bucket:
    """The bucket of the review stacks' Pulumi backends, `pr-<N>/` per pull request
    (components/delivery/review_state.py): versioned, encrypted, private, TLS only; the
    review workflow deletes a prefix when its pull request closes, and old versions
    expire. Protected: open previews' state lives in it."""
    return Bucket(
        REVIEW_STATE.name("state"),
        BucketArgs(
            bucket_name=account.apply(
                lambda account_id: REVIEW_STATE.globally_unique("state", account_id, config.region)
            ),
            lifecycle_rules=[LifecycleRule(id="expire-old-state", noncurrent_expire_after_days=30)],
        ),
        opts=pulumi.ResourceOptions(providers=[provider], protect=True),
    )


def bound_roles_to_deploy_scope(config: StackConfig, platform: PlatformOutputs) -> None:
    """Every IAM role this stack creates from here on carries its deploy scope's
    permissions boundary, which the scope's deploy role demands of the roles it creates."""
    scope = deploy_scope(config.stack)
    if scope is None:
        return
    boundary = pulumi.Output.from_input(platform.deploy_boundary_arns).apply(
        lambda arns: (arns or {}).get(scope)
    )

    def add_boundary(
        args: pulumi.ResourceTransformationArgs,
    ) -> pulumi.ResourceTransformationResult | None:
        if args.type_ != "aws:iam/role:Role":
            return None
        return pulumi.ResourceTransformationResult(
            {**args.props, "permissions_boundary": boundary}, args.opts
        )

    pulumi.runtime.register_stack_transformation(add_boundary)
