"""The roles GitHub Actions deploys with: who may assume each, and what each may change
(evaluated with the conditions, as IAM would)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.delivery.deploy_actions import CHANGE_VERBS, ENVIRONMENT_SERVICES
from components.delivery.deploy_policies import DEPLOY_SCOPES
from components.delivery.github_oidc import GITHUB_ISSUER, STS_AUDIENCE
from pulumi_offline import OfflineRun
from stacks.delivery import deploy_scope
from tests.support.deploy_roles import ACCOUNT, boundary, policies
from tests.support.iam import Request, allowed
from tests.support.stacks import run_stack

REPOSITORY = "pingvas/pingvas"  # Pulumi.shared.yaml
INLINE_POLICY_LIMIT = 10_240  # IAM's limit on a role's inline policies, in characters


def role(shared: OfflineRun, key: str) -> dict[str, Any]:
    return shared.one("aws:iam/role:Role", f"pingvas-shared-deploy-{key}").inputs


WORKFLOWS = f"{REPOSITORY}/.github/workflows"


@pytest.mark.parametrize(
    ("key", "subjects"),
    [
        (
            "pr",
            [f"environment:review:job_workflow_ref:{WORKFLOWS}/review-stack.yaml@refs/heads/main"],
        ),
        (
            "dev",
            [f"environment:development:job_workflow_ref:{WORKFLOWS}/cd-dev.yaml@refs/heads/main"],
        ),
        (
            "prod",
            [f"environment:production:job_workflow_ref:{WORKFLOWS}/cd-prod.yaml@refs/tags/v*"],
        ),
        (
            "images",
            [
                f"ref:refs/heads/main:job_workflow_ref:{WORKFLOWS}/images.yaml@refs/heads/main",
                f"pull_request:job_workflow_ref:{WORKFLOWS}/images.yaml@refs/heads/main",
            ],
        ),
    ],
)
def test_only_the_repositorys_workflows_of_a_scope_assume_its_role(
    shared: OfflineRun, key: str, subjects: list[str]
) -> None:
    """Pinned to the workflow file and the ref it ran from (custom subject template), in
    both the legacy and the immutable-id form of `repo`."""
    statement = json.loads(role(shared, key)["assumeRolePolicy"])["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    provider = shared.one(
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "pingvas-shared-deploy-github"
    )
    assert provider.inputs["url"] == f"https://{GITHUB_ISSUER}"
    assert statement["Principal"]["Federated"].startswith(f"arn:aws:iam::{ACCOUNT}:")
    forms = [REPOSITORY, "pingvas@*/pingvas@*"]
    assert statement["Condition"] == {
        "StringEquals": {f"{GITHUB_ISSUER}:aud": STS_AUDIENCE},
        "StringLike": {f"{GITHUB_ISSUER}:sub": [f"repo:{f}:{s}" for s in subjects for f in forms]},
    }
    assert role(shared, key)["maxSessionDuration"] == 3600


CHANGE_SECRET = "secretsmanager:DeleteSecret"
CLUSTER = f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/pingvas-shared-eks-1a2b3c"


@pytest.mark.parametrize(
    ("key", "own", "foreign"),
    [
        ("pr", "pr-7", ["dev", "prod"]),
        ("dev", "dev", ["prod", "pr-7"]),
        ("prod", "prod", ["dev", "pr-7"]),
    ],
)
def test_a_deploy_role_changes_its_own_stacks_and_no_others(
    shared: OfflineRun, key: str, own: str, foreign: list[str]
) -> None:
    policy = policies(shared, key)
    assert allowed(policy, Request(CHANGE_SECRET, resource_tags={"stack": own}))
    assert allowed(
        policy, Request("eks:CreatePodIdentityAssociation", CLUSTER, request_tags={"stack": own})
    )
    for other in foreign:
        assert not allowed(policy, Request(CHANGE_SECRET, resource_tags={"stack": other}))
        assert not allowed(
            policy, Request("s3:PutObject", f"arn:aws:s3:::pingvas-{other}-images-1/x")
        )
        assert not allowed(
            policy, Request("ec2:CreateSecurityGroup", request_tags={"stack": other})
        )
        assert not allowed(
            policy, Request("secretsmanager:GetSecretValue", resource_tags={"stack": other})
        )
    # The platform's resources: read, attach to, never change.
    assert allowed(policy, Request("eks:DescribeCluster", resource_tags={"stack": "shared"}))
    assert not allowed(policy, Request("eks:DeleteCluster", resource_tags={"stack": "shared"}))
    assert not allowed(
        policy, Request("secretsmanager:GetSecretValue", resource_tags={"stack": "shared"})
    )


def test_no_resource_moves_between_stacks_by_its_tag(shared: OfflineRun) -> None:
    policy = policies(shared, "pr")
    retag = Request(
        "ec2:CreateTags", resource_tags={"stack": "shared"}, request_tags={"stack": "pr-7"}
    )
    assert not allowed(policy, retag)
    retag_own = Request(
        "ec2:CreateTags", resource_tags={"stack": "pr-7"}, request_tags={"stack": "prod"}
    )
    assert not allowed(policy, retag_own)


def test_roles_a_deploy_role_makes_carry_its_boundary(shared: OfflineRun) -> None:
    policy = policies(shared, "pr")
    pr_boundary = shared.one("aws:iam/policy:Policy", "pingvas-shared-deploy-pr-boundary").id
    create = f"arn:aws:iam::{ACCOUNT}:role/pingvas-pr-7-tenancy-api-1a2b3c"
    tags = {"stack": "pr-7"}
    with_boundary = {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy-x"}
    assert not allowed(policy, Request("iam:CreateRole", create, request_tags=tags))
    assert not allowed(
        policy, Request("iam:CreateRole", create, request_tags=tags, context=with_boundary)
    )
    assert pr_boundary  # the offline id stands for the ARN in the policy
    (arn,) = {
        s["Condition"]["StringNotEquals"]["iam:PermissionsBoundary"]
        for s in policy[0]["Statement"]
        if s["Sid"] == "RolesItMakesOrChangesCarryTheBoundary"
    }
    ok = {"iam:PermissionsBoundary": arn}
    assert allowed(policy, Request("iam:CreateRole", create, request_tags=tags, context=ok))
    assert not allowed(policy, Request("iam:DeleteRolePermissionsBoundary", create))
    assert not allowed(policy, Request("iam:CreateUser"))


@pytest.mark.parametrize("stack", ["dev", "pr-7"])
def test_every_role_an_environment_makes_is_bound_and_fits_its_boundary(stack: str) -> None:
    shared, environment = run_stack("shared"), run_stack(stack)
    key = "pr" if stack.startswith("pr-") else stack
    boundary_id = shared.outputs["deployBoundaryArns"][key]
    ceiling = boundary(shared, key)
    roles = environment.of_type("aws:iam/role:Role")
    assert roles
    for each in roles:
        assert each.inputs["permissionsBoundary"] == boundary_id, each.name
    for inline in environment.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(inline.inputs["policy"])["Statement"]:
            if statement["Effect"] != "Allow":
                continue  # a Deny needs no room under the boundary
            actions = statement["Action"]
            targets = statement["Resource"]
            for action in [actions] if isinstance(actions, str) else actions:
                for resource in [targets] if isinstance(targets, str) else targets:
                    request = Request(
                        action,
                        resource.replace("*", "x"),
                        resource_tags={"stack": stack},
                        context={"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"},
                        # EKS Pod Identity tags the pods' sessions with their namespace.
                        principal_tags={"kubernetes-namespace": stack},
                    )
                    assert allowed([ceiling], request), f"{inline.name}: {action} on {resource}"
    # ...and the boundary keeps pods out of other stacks' buckets and secrets.
    assert not allowed([ceiling], Request("s3:GetObject", "arn:aws:s3:::pingvas-prod-images-abc/x"))
    assert not allowed(
        [ceiling], Request("s3:DeleteObjectVersion", f"arn:aws:s3:::pingvas-{stack}-x/y")
    )
    assert not allowed(
        [ceiling], Request("secretsmanager:GetSecretValue", resource_tags={"stack": "prod"})
    )
    assert not allowed([ceiling], Request("iam:CreateRole"))


def test_the_images_role_only_pushes_to_the_platform_repositories(shared: OfflineRun) -> None:
    policy = policies(shared, "images")
    repository = f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/pingvas-shared-api"
    assert allowed(policy, Request("ecr:PutImage", repository))
    assert allowed(policy, Request("ecr:GetAuthorizationToken"))
    assert not allowed(
        policy, Request("ecr:PutImage", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/other")
    )
    assert not allowed(policy, Request("ecr:DeleteRepository", repository))
    assert not allowed(policy, Request("eks:DescribeCluster"))


@pytest.mark.parametrize("key", ["pr", "dev", "prod", "images"])
def test_policies_fit_iams_size_limit(shared: OfflineRun, key: str) -> None:
    document = shared.one("aws:iam/rolePolicy:RolePolicy", f"pingvas-shared-deploy-{key}")
    assert len(json.dumps(json.loads(document.inputs["policy"]), separators=(",", ":"))) < (
        INLINE_POLICY_LIMIT
    )


def test_without_a_repository_there_are_no_deploy_roles(stack_with: Any) -> None:
    run = stack_with("shared", {"pingvas:deployRoles": {}})  # no githubRepository
    assert not [r for r in run.resources if r.name.startswith("pingvas-shared-deploy-")]
    assert run.outputs["deployRoleArns"] == {}


def test_an_account_with_githubs_provider_reuses_it(stack_with: Any) -> None:
    run = stack_with(
        "shared",
        {"pingvas:deployRoles": {"githubRepository": "acme/app", "createOidcProvider": False}},
    )
    assert not run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    trust = json.loads(
        run.one("aws:iam/role:Role", "pingvas-shared-deploy-dev").inputs["assumeRolePolicy"]
    )
    (statement,) = trust["Statement"]
    assert statement["Principal"]["Federated"] == (
        f"arn:aws:iam::{ACCOUNT}:oidc-provider/{GITHUB_ISSUER}"
    )
    jobs = ["environment:development:job_workflow_ref:acme/app/.github/workflows/cd-dev.yaml"]
    assert statement["Condition"]["StringLike"][f"{GITHUB_ISSUER}:sub"] == [
        subject
        for job in jobs
        for subject in (
            f"repo:acme/app:{job}@refs/heads/main",
            f"repo:acme@*/app@*:{job}@refs/heads/main",
        )
    ]


DOMAIN = "pingvas.example.com"  # Pulumi.shared.yaml
RECORD_NAMES = "route53:ChangeResourceRecordSetsNormalizedRecordNames"


@pytest.mark.parametrize(
    ("key", "own", "foreign"),
    [
        # A session of pr-7 (tests/support/deploy_roles.py): not pr-8's, nor `pr-login`.
        (
            "pr",
            ["api.pr-7", "pr-7.pr", "_x1.images.pr-7", "a-pr-7.pr"],
            ["api.dev", "api", "images", "pr-42.pr", "api.pr-8", "pr-login", "api.pr-77"],
        ),
        ("dev", ["api.dev", "_x1.api.dev"], ["api", "api.pr-7", "pr-42.pr"]),
        ("prod", ["api", "images", "_x1.api"], ["api.dev", "api.pr-7", "pr-42.pr"]),
    ],
)
def test_a_deploy_role_writes_only_its_own_dns_records(
    shared: OfflineRun, key: str, own: list[str], foreign: list[str]
) -> None:
    policy = policies(shared, key)

    def change(*names: str) -> Request:
        records = [f"{name}.{DOMAIN}" for name in names]
        return Request(
            "route53:ChangeResourceRecordSets",
            "arn:aws:route53:::hostedzone/Z123",
            resource_tags={"stack": "shared"},
            context={RECORD_NAMES: records},
        )

    assert allowed(policy, change(*own))
    for name in foreign:
        assert not allowed(policy, change(name))
        assert not allowed(policy, change(own[0], name)), "one foreign name spoils the batch"


# Services a deploy role changes by name, not by the stack tag (deploy_policies.py).
BY_NAME = ("iam", "route53", "s3")
# Type tokens' modules whose IAM service prefix differs from the module's name.
IAM_PREFIX = {
    "vpc": "ec2",
    "efs": "elasticfilesystem",
    "cloudwatch/logGroup": "logs",
    "cloudwatch/eventRule": "events",
    "cloudwatch/eventTarget": "events",
}


@pytest.mark.parametrize("stack", ["dev", "prod", "pr-7"])
def test_deploy_roles_cover_every_aws_service_an_environment_uses(stack: str) -> None:
    (scope,) = [s for s in DEPLOY_SCOPES if s.key == deploy_scope(stack)]
    for resource in run_stack(stack).resources:
        if not resource.type.startswith("aws:") or resource.type.startswith("aws:index"):
            continue
        module = resource.type.split(":")[1]
        service = IAM_PREFIX.get(module, IAM_PREFIX.get(module.split("/")[0], module.split("/")[0]))
        assert service in ENVIRONMENT_SERVICES, (
            f"{resource.type}: add {service} to the deploy roles"
        )
        assert service in BY_NAME or service in scope.services, (
            f"{service}: add it to the {scope.key} scope's services"
        )
        assert service in BY_NAME or service == "eks" or service in CHANGE_VERBS, service


def test_only_the_pr_role_empties_its_own_buckets_on_destroy(shared: OfflineRun) -> None:
    """`pulumi destroy` of a review stack force-destroys its versioned bucket (every
    version); long-lived stacks never erase object history."""
    erase = "s3:DeleteObjectVersion"
    pr = policies(shared, "pr")
    assert allowed(pr, Request(erase, "arn:aws:s3:::pingvas-pr-7-images-1a2b3c/images/x.png"))
    assert not allowed(pr, Request(erase, "arn:aws:s3:::pingvas-prod-images-1a2b3c/x.png"))
    assert not allowed(pr, Request(erase, "arn:aws:s3:::pingvas-dev-images-1a2b3c/x.png"))
    for key in ("dev", "prod"):
        own = f"arn:aws:s3:::pingvas-{key}-images-1a2b3c/x.png"
        assert not allowed(policies(shared, key), Request(erase, own))
