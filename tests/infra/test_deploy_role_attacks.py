"""Issue 22, item 1: attacks on the AWS account with a deploy role's credentials, each
evaluated against the preview's IAM documents of that role (and of the boundary of the
roles it makes) — every attack denied, each beside a control that is allowed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pulumi_offline import OfflineRun
from tests.support.deploy_roles import ACCOUNT, boundary, policies
from tests.support.iam import Request, allowed

SCOPES = [("pr", "pr-7"), ("dev", "dev"), ("prod", "prod")]
IAM = f"arn:aws:iam::{ACCOUNT}"
CLUSTER = f"arn:aws:eks:us-east-1:{ACCOUNT}:cluster/pingvas-shared-eks-1a2b3c"
ACCESS_ENTRY = f"arn:aws:eks:us-east-1:{ACCOUNT}:access-entry/pingvas-shared-eks-1a2b3c/role/x"
# Proves a Deny refuses a request that some Allow would grant.
ALLOW_ALL = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def boundary_arn(policy: list[dict[str, Any]]) -> str:
    (arn,) = {
        s["Condition"]["StringNotEquals"]["iam:PermissionsBoundary"]
        for s in policy[0]["Statement"]
        if s["Sid"] == "RolesItMakesOrChangesCarryTheBoundary"
    }
    return str(arn)


@pytest.mark.parametrize(("key", "own"), SCOPES)
def test_no_cluster_access_entries_only_pod_identity_on_the_platform_cluster(
    shared: OfflineRun, key: str, own: str
) -> None:
    policy = policies(shared, key)
    tags = {"stack": own}
    admin = {"eks:policyArn": "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"}
    for attack in (
        Request("eks:CreateAccessEntry", CLUSTER, request_tags=tags),
        Request("eks:AssociateAccessPolicy", ACCESS_ENTRY, request_tags=tags, context=admin),
        Request("eks:UpdateAccessEntry", ACCESS_ENTRY, resource_tags=tags),
        Request("eks:DeleteAccessEntry", ACCESS_ENTRY, resource_tags=tags),
        Request("eks:DisassociateAccessPolicy", ACCESS_ENTRY, resource_tags=tags),
        Request("eks:UpdateClusterConfig", CLUSTER, resource_tags={"stack": "shared"}),
        Request(
            "eks:CreatePodIdentityAssociation",
            CLUSTER.replace("pingvas-shared", "other"),
            request_tags=tags,
        ),
    ):
        assert not allowed(policy, attack), attack
        assert not allowed(policy.plus(ALLOW_ALL), attack) or attack.action.endswith("Config")
    assert allowed(policy, Request("eks:CreatePodIdentityAssociation", CLUSTER, request_tags=tags))


ASSOCIATION = (
    f"arn:aws:eks:us-east-1:{ACCOUNT}:podidentityassociation/pingvas-shared-eks-1a2b3c/a-1"
)


@pytest.mark.parametrize(("key", "own"), SCOPES)
def test_pod_identity_associations_of_others_stay_theirs(
    shared: OfflineRun, key: str, own: str
) -> None:
    """Repointing prod's API service account at a PR's role, or deleting the platform's
    controllers' associations, would hand over or cut their AWS access."""
    policy = policies(shared, key)
    others = [{"stack": "shared"}, {}] + [{"stack": s} for _, s in SCOPES if s != own]
    for action in ("eks:UpdatePodIdentityAssociation", "eks:DeletePodIdentityAssociation"):
        for tags in others:
            attack = Request(action, ASSOCIATION, resource_tags=tags)
            assert not allowed(policy, attack), attack
        assert allowed(policy, Request(action, ASSOCIATION, resource_tags={"stack": own}))


# Resources the scope did not create, untagged: an admin or break-glass principal, a
# policy, a secret, the LB controller's security group, the CSI driver's volume, …
UNTAGGED = [
    ("iam:TagRole", f"{IAM}:role/Admin"),
    ("iam:TagUser", f"{IAM}:user/break-glass"),
    ("iam:TagPolicy", f"{IAM}:policy/AdminPolicy"),
    ("secretsmanager:TagResource", f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-x"),
    ("ec2:CreateTags", f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0lbcontroller"),
    ("ec2:CreateTags", f"arn:aws:ec2:us-east-1:{ACCOUNT}:volume/vol-0csidriver"),
    ("s3:PutBucketTagging", "arn:aws:s3:::someone-elses-bucket"),
    ("elasticache:AddTagsToResource", f"arn:aws:elasticache:us-east-1:{ACCOUNT}:cluster:c"),
    ("rds:AddTagsToResource", f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:c"),
    ("sqs:TagQueue", f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"),
    ("sns:TagResource", f"arn:aws:sns:us-east-1:{ACCOUNT}:t"),
    ("logs:TagResource", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:g"),
    ("kms:TagResource", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1a2b"),
    ("events:TagResource", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/r"),
]
# ...and what taking one would be for: each also refused on its own, were it tagged.
TAKEOVERS = [
    ("iam:UpdateAssumeRolePolicy", f"{IAM}:role/Admin"),
    ("iam:AttachRolePolicy", f"{IAM}:role/Admin"),
    ("iam:CreateAccessKey", f"{IAM}:user/break-glass"),
    ("iam:CreateLoginProfile", f"{IAM}:user/break-glass"),
    ("iam:CreatePolicyVersion", f"{IAM}:policy/AdminPolicy"),
    ("ec2:AuthorizeSecurityGroupIngress", UNTAGGED[4][1]),
    ("ec2:DeleteVolume", UNTAGGED[5][1]),
    ("kms:PutKeyPolicy", UNTAGGED[12][1]),
    ("events:PutTargets", UNTAGGED[13][1]),
]


@pytest.mark.parametrize(("key", "own"), SCOPES)
@pytest.mark.parametrize(("action", "resource"), UNTAGGED)
def test_an_untagged_resource_is_never_tagged_into_the_scope(
    shared: OfflineRun, key: str, own: str, action: str, resource: str
) -> None:
    policy = policies(shared, key)
    attack = Request(action, resource, request_tags={"stack": own})
    assert not allowed(policy, attack)
    assert not allowed(policy.plus(ALLOW_ALL), attack), "a Deny, not only a missing Allow"


@pytest.mark.parametrize(("key", "own"), SCOPES)
@pytest.mark.parametrize(("action", "resource"), TAKEOVERS)
def test_a_foreign_resource_tagged_for_the_scope_is_still_not_its_own(
    shared: OfflineRun, key: str, own: str, action: str, resource: str
) -> None:
    context = {"iam:PermissionsBoundary": boundary_arn(policies(shared, key))}
    request = Request(action, resource, resource_tags={"stack": own}, context=context)
    assert not allowed(policies(shared, key), request)


@pytest.mark.parametrize(("key", "own"), SCOPES)
def test_tag_on_create_is_allowed(shared: OfflineRun, key: str, own: str) -> None:
    """The controls: the stack tag on what the scope creates, named for its stacks."""
    policy = policies(shared, key)
    tags = {"stack": own}
    name = f"pingvas-{own}-api-1a2b3c"
    for control in (
        Request("iam:TagRole", f"{IAM}:role/{name}", request_tags=tags),
        Request("iam:TagPolicy", f"{IAM}:policy/{name}", request_tags=tags),
        Request(
            "secretsmanager:TagResource",
            f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}",
            request_tags=tags,
        ),
        Request("s3:PutBucketTagging", f"arn:aws:s3:::{name}", request_tags=tags),
    ):
        assert allowed(policy, control), control
    # EC2 (granted to no scope): its Deny spares tagging inside a create call.
    volume = UNTAGGED[5][1]
    on_create = {"ec2:CreateAction": "CreateVolume"}
    assert allowed(
        policy.plus(ALLOW_ALL),
        Request("ec2:CreateTags", volume, request_tags=tags, context=on_create),
    )


@pytest.mark.parametrize(("key", "own"), SCOPES)
def test_iam_only_by_name_under_the_prefix_and_bounded(
    shared: OfflineRun, key: str, own: str
) -> None:
    policy = policies(shared, key)
    bounded = {"iam:PermissionsBoundary": boundary_arn(policy)}
    role = f"{IAM}:role/pingvas-{own}-api-1a2b3c"
    tags = {"stack": own}
    own_policy = {"iam:PolicyARN": f"{IAM}:policy/pingvas-{own}-x", **bounded}
    admin = {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess", **bounded}
    controls = [
        Request("iam:CreateRole", role, request_tags=tags, context=bounded),
        Request("iam:PutRolePolicy", role, resource_tags=tags, context=bounded),
        Request("iam:AttachRolePolicy", role, resource_tags=tags, context=own_policy),
        Request("iam:UpdateAssumeRolePolicy", role, resource_tags=tags),
        Request("iam:CreatePolicyVersion", f"{IAM}:policy/pingvas-{own}-x"),
    ]
    attacks = [
        Request("iam:CreateRole", role, request_tags=tags),  # no boundary
        Request("iam:PutRolePolicy", role, resource_tags=tags),  # an unbounded role
        Request("iam:PutRolePermissionsBoundary", role, context={"iam:PermissionsBoundary": "x"}),
        Request("iam:DeleteRolePermissionsBoundary", role, context=bounded),
        Request("iam:AttachRolePolicy", role, resource_tags=tags, context=admin),
        Request("iam:CreateRole", f"{IAM}:role/other-{own}", request_tags=tags, context=bounded),
        Request("iam:CreateUser", f"{IAM}:user/pingvas-{own}-x", request_tags=tags),
        Request("iam:CreateAccessKey", f"{IAM}:user/pingvas-{own}-x"),
        Request("iam:CreateLoginProfile", f"{IAM}:user/pingvas-{own}-x"),
        Request("iam:CreatePolicyVersion", f"{IAM}:policy/other"),
        Request("iam:SetDefaultPolicyVersion", f"{IAM}:policy/other"),
        # The deploy role itself and the boundary the platform owns.
        Request("iam:PutRolePolicy", f"{IAM}:role/pingvas-shared-deploy-{key}", context=bounded),
        Request("iam:CreatePolicyVersion", f"{IAM}:policy/pingvas-shared-deploy-{key}-boundary"),
        Request("iam:DeletePolicy", f"{IAM}:policy/pingvas-shared-deploy-{key}-boundary"),
    ]
    for control in controls:
        assert allowed(policy, control), control
    for attack in attacks:
        assert not allowed(policy, attack), attack


@pytest.mark.parametrize(("key", "own"), SCOPES)
def test_pass_role_only_own_roles_to_pod_identity(shared: OfflineRun, key: str, own: str) -> None:
    policy = policies(shared, key)
    role = f"{IAM}:role/pingvas-{own}-api-1a2b3c"

    def to(service: str, arn: str = role) -> Request:
        return Request("iam:PassRole", arn, context={"iam:PassedToService": service})

    assert allowed(policy, to("pods.eks.amazonaws.com"))
    assert not allowed(policy, to("ec2.amazonaws.com"))
    assert not allowed(policy, to("lambda.amazonaws.com"))
    assert not allowed(policy, to("pods.eks.amazonaws.com", f"{IAM}:role/pingvas-shared-node"))


@pytest.mark.parametrize(("key", "own"), SCOPES)
def test_nothing_named_for_the_platform(shared: OfflineRun, key: str, own: str) -> None:
    policy = policies(shared, key)
    tags = {"stack": own}
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/pingvas-shared-karpenter-spot-interruption"
    models = "arn:aws:s3:::pingvas-shared-models-eb805c6c"
    for attack in (
        Request("events:PutRule", rule, request_tags=tags),
        Request("events:PutTargets", rule, resource_tags=tags),
        Request("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:pingvas-shared-karpenter"),
        Request("s3:PutObject", f"{models}/sdxl/model.safetensors"),
        Request("s3:DeleteObject", f"{models}/sdxl/model.safetensors"),
        Request("s3:PutBucketPolicy", models),
    ):
        assert not allowed(policy, attack), attack
        assert not allowed(policy.plus(ALLOW_ALL), attack), attack
    assert allowed(policy, Request("s3:PutObject", f"arn:aws:s3:::pingvas-{own}-images-1/x"))
    # The roles it makes read the models and never write them.
    ceiling = [boundary(shared, key)]
    assert allowed(ceiling, Request("s3:GetObject", f"{models}/sdxl/model.safetensors"))
    for write in ("s3:PutObject", "s3:DeleteObject"):
        assert not allowed(ceiling, Request(write, f"{models}/sdxl/model.safetensors"))


def test_the_attack_suite_reads_the_preview(shared: OfflineRun) -> None:
    """The documents above are the preview's own, not a copy the tests build."""
    inline = shared.one("aws:iam/rolePolicy:RolePolicy", "pingvas-shared-deploy-pr")
    assert json.loads(inline.inputs["policy"]) == policies(shared, "pr")[0]
