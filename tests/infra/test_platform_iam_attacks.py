"""Issue 22: attacks with the platform's own permissions that parliament flags as
escalation paths (policy/iam_accepted_findings.yaml), evaluated against the preview's
documents: Karpenter's controller (PassRole with RunInstances, instance-profile actions)
and the operations key's policy (kms:* to the account). Every attack is denied, each
beside a control that is allowed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from pulumi_offline import OfflineRun
from tests.support.deploy_roles import ACCOUNT
from tests.support.iam import Request, allowed
from tools.iam_lint import documents

REGION = "us-east-1"
CLUSTER = "pingvas-shared-eks"  # the shared stack's cluster, as Karpenter's policy names it
IAM = f"arn:aws:iam::{ACCOUNT}"
EC2 = f"arn:aws:ec2:{REGION}:{ACCOUNT}"
TO_EC2 = {"iam:PassedToService": "ec2.amazonaws.com"}

# The tags Karpenter puts on what it makes for a NodePool / EC2NodeClass of this cluster.
LAUNCH_TAGS = {
    f"kubernetes.io/cluster/{CLUSTER}": "owned",
    "eks:eks-cluster-name": CLUSTER,
    "karpenter.sh/nodepool": "gpu",
}
PROFILE_TAGS = {
    f"kubernetes.io/cluster/{CLUSTER}": "owned",
    "eks:eks-cluster-name": CLUSTER,
    "topology.kubernetes.io/region": REGION,
    "karpenter.k8s.aws/ec2nodeclass": "gpu",
}
OWN_PROFILE = f"{IAM}:instance-profile/{CLUSTER}_1234567890"
# Profiles not Karpenter's: untagged (an admin's), another cluster's, another region's,
# and this cluster's without the EC2NodeClass tag (not one Karpenter made).
FOREIGN_PROFILES = [
    ({}, f"{IAM}:instance-profile/Admin"),
    (
        {
            "kubernetes.io/cluster/other": "owned",
            "eks:eks-cluster-name": "other",
            "topology.kubernetes.io/region": REGION,
            "karpenter.k8s.aws/ec2nodeclass": "gpu",
        },
        f"{IAM}:instance-profile/other_1",
    ),
    ({**PROFILE_TAGS, "topology.kubernetes.io/region": "eu-west-1"}, f"{IAM}:instance-profile/eu"),
    (
        {k: v for k, v in PROFILE_TAGS.items() if k != "karpenter.k8s.aws/ec2nodeclass"},
        f"{IAM}:instance-profile/{CLUSTER}-managed",
    ),
]


def karpenter(shared: OfflineRun) -> list[dict[str, Any]]:
    policy = shared.one("aws:iam/rolePolicy:RolePolicy", "pingvas-shared-karpenter-controller")
    return [json.loads(policy.inputs["policy"])]


def role_arn(shared: OfflineRun, name: str) -> str:
    return f"{IAM}:role/{shared.one('aws:iam/role:Role', name).id}"


def foreign_roles(shared: OfflineRun) -> list[str]:
    """Every role of the platform but Karpenter's node role, and an admin's."""
    node = role_arn(shared, "pingvas-shared-karpenter-node")
    platform = [role_arn(shared, r.name) for r in shared.of_type("aws:iam/role:Role")]
    return [arn for arn in platform if arn != node] + [f"{IAM}:role/Admin"]


def launch(
    role: str, tags: Mapping[str, str], template_tags: Mapping[str, str] | None = None
) -> list[Request]:
    """What IAM authorises for one RunInstances: the instance and its volume and interface
    (tagged on create), the image, subnet and group, the launch template Karpenter made, and
    PassRole of the role in the instance profile."""
    created = [
        Request("ec2:RunInstances", f"{EC2}:{kind}/x-1", request_tags=tags)
        for kind in ("instance", "volume", "network-interface")
    ]
    used = [
        Request("ec2:RunInstances", f"arn:aws:ec2:{REGION}::image/ami-1"),
        Request("ec2:RunInstances", f"{EC2}:subnet/subnet-1"),
        Request("ec2:RunInstances", f"{EC2}:security-group/sg-1"),
        Request(
            "ec2:RunInstances",
            f"{EC2}:launch-template/lt-1",
            resource_tags=LAUNCH_TAGS if template_tags is None else template_tags,
        ),
    ]
    return [*created, *used, Request("iam:PassRole", role, context=TO_EC2)]


def permitted(policy: list[dict[str, Any]], requests: list[Request]) -> bool:
    return all(allowed(policy, request) for request in requests)


def test_karpenter_passes_only_its_node_role_and_only_to_ec2(shared: OfflineRun) -> None:
    policy = karpenter(shared)
    node = role_arn(shared, "pingvas-shared-karpenter-node")
    assert allowed(policy, Request("iam:PassRole", node, context=TO_EC2))
    for service in ("lambda.amazonaws.com", "pods.eks.amazonaws.com", "ecs-tasks.amazonaws.com"):
        context = {"iam:PassedToService": service}
        assert not allowed(policy, Request("iam:PassRole", node, context=context)), service
    assert not allowed(policy, Request("iam:PassRole", node))
    for role in foreign_roles(shared):
        assert not allowed(policy, Request("iam:PassRole", role, context=TO_EC2)), role


def test_karpenter_manages_only_its_clusters_instance_profiles(shared: OfflineRun) -> None:
    policy = karpenter(shared)
    node = role_arn(shared, "pingvas-shared-karpenter-node")
    own = PROFILE_TAGS
    controls = [
        Request("iam:CreateInstanceProfile", OWN_PROFILE, request_tags=own),
        Request("iam:TagInstanceProfile", OWN_PROFILE, resource_tags=own, request_tags=own),
        Request("iam:RemoveRoleFromInstanceProfile", OWN_PROFILE, resource_tags=own),
        Request("iam:DeleteInstanceProfile", OWN_PROFILE, resource_tags=own),
    ]
    for control in controls:
        assert allowed(policy, control), control
    # Adding a role to a profile is also PassRole of that role.
    assert permitted(
        policy,
        [
            Request("iam:AddRoleToInstanceProfile", OWN_PROFILE, resource_tags=own),
            Request("iam:PassRole", node, context=TO_EC2),
        ],
    )
    attacks = [
        Request("iam:CreateInstanceProfile", OWN_PROFILE),  # untagged
        Request(
            "iam:CreateInstanceProfile",
            OWN_PROFILE,
            request_tags={**own, "topology.kubernetes.io/region": "eu-west-1"},
        ),
        Request(
            "iam:CreateInstanceProfile",
            OWN_PROFILE,
            request_tags={k: v for k, v in own.items() if k != "karpenter.k8s.aws/ec2nodeclass"},
        ),
    ]
    for tags, profile in FOREIGN_PROFILES:
        attacks += [
            # Tagging a profile into the cluster's scope, then acting on it.
            Request("iam:TagInstanceProfile", profile, resource_tags=tags, request_tags=own),
            Request("iam:AddRoleToInstanceProfile", profile, resource_tags=tags),
            Request("iam:RemoveRoleFromInstanceProfile", profile, resource_tags=tags),
            Request("iam:DeleteInstanceProfile", profile, resource_tags=tags),
        ]
    for attack in attacks:
        assert not allowed(policy, attack), attack
    # Its own profile holds no role but its node role.
    for role in foreign_roles(shared):
        assert not permitted(
            policy,
            [
                Request("iam:AddRoleToInstanceProfile", OWN_PROFILE, resource_tags=own),
                Request("iam:PassRole", role, context=TO_EC2),
            ],
        ), role


def test_karpenter_launches_only_tagged_instances_with_its_node_role(shared: OfflineRun) -> None:
    policy = karpenter(shared)
    node = role_arn(shared, "pingvas-shared-karpenter-node")
    assert permitted(policy, launch(node, LAUNCH_TAGS))
    # A foreign profile: its role is not the node role.
    for role in foreign_roles(shared):
        assert not permitted(policy, launch(role, LAUNCH_TAGS)), role
    untagged: Mapping[str, str] = {}
    no_nodepool = {k: v for k, v in LAUNCH_TAGS.items() if k != "karpenter.sh/nodepool"}
    other_cluster = {"kubernetes.io/cluster/other": "owned", "karpenter.sh/nodepool": "gpu"}
    misnamed = {**LAUNCH_TAGS, "eks:eks-cluster-name": "other"}
    for tags in (untagged, no_nodepool, other_cluster, misnamed):
        assert not permitted(policy, launch(node, tags)), tags
        # ...nor through a launch template or fleet made with those tags,
        assert not allowed(
            policy,
            Request("ec2:CreateLaunchTemplate", f"{EC2}:launch-template/x", request_tags=tags),
        ), tags
        assert not allowed(
            policy, Request("ec2:CreateFleet", f"{EC2}:fleet/x", request_tags=tags)
        ), tags
    # ...nor with a launch template its cluster's NodePools did not make.
    for tags in (untagged, no_nodepool, other_cluster):
        assert not permitted(policy, launch(node, LAUNCH_TAGS, template_tags=tags)), tags
    # An instance it did not launch is never tagged into the cluster, nor terminated.
    foreign_instance = f"{EC2}:instance/i-foreign"
    for attack in (
        Request("ec2:CreateTags", foreign_instance, request_tags=LAUNCH_TAGS),
        Request("ec2:TerminateInstances", foreign_instance),
    ):
        assert not allowed(policy, attack), attack
    assert allowed(
        policy, Request("ec2:TerminateInstances", foreign_instance, resource_tags=LAUNCH_TAGS)
    )


KEY_MANAGEMENT = [
    "kms:PutKeyPolicy",
    "kms:CreateGrant",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:UpdateKeyDescription",
    "kms:TagResource",
]


def operations_key(shared: OfflineRun) -> tuple[str, dict[str, Any]]:
    key = shared.one("aws:kms/key:Key", "pingvas-shared-operations-key")
    return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key.id}", json.loads(key.inputs["policy"])


def test_only_the_account_manages_the_operations_key(shared: OfflineRun) -> None:
    """The key policy: the account root manages the key, the publishing services only
    encrypt and decrypt, no one else anything; and through the root's delegation to IAM, no
    identity policy of the stack grants a key action but the Alertmanager's encryption."""
    arn, policy = operations_key(shared)
    root = f"{IAM}:root"
    service = "cloudwatch.amazonaws.com"
    for action in KEY_MANAGEMENT:
        assert allowed([policy], Request(action, arn, principal=root)), action
    # EventBridge too: it publishes a serverless cache's events (the topic admits its
    # rules by ARN: test_cache_events.py).
    for publisher in (service, "events.amazonaws.com"):
        assert allowed([policy], Request("kms:GenerateDataKey", arn, principal=publisher))
        assert allowed([policy], Request("kms:Decrypt", arn, principal=publisher))
    others = [
        service,
        "events.amazonaws.com",
        "arn:aws:iam::210987654321:root",
        role_arn(shared, "pingvas-shared-karpenter-controller"),
        role_arn(shared, "pingvas-shared-monitoring-alertmanager"),
        f"{IAM}:role/Admin",
        "anonymous",
    ]
    for principal in others:
        for action in KEY_MANAGEMENT:
            grantee = {"kms:GranteePrincipal": principal}
            request = Request(action, arn, principal=principal, context=grantee)
            assert not allowed([policy], request), (principal, action)
    for principal in others[2:]:
        assert not allowed([policy], Request("kms:Decrypt", arn, principal=principal)), principal

    tags = {"stack": "shared"}
    identity = [
        d
        for d in documents(shared)
        if d.type.startswith("aws:iam/") and d.key != "assumeRolePolicy"
    ]
    assert len(identity) > 10
    for document in identity:
        for action in KEY_MANAGEMENT:
            request = Request(action, arn, resource_tags=tags)
            assert not allowed([document.document], request), (document.resource, action)
    encrypting = {
        d.resource
        for d in identity
        if allowed([d.document], Request("kms:GenerateDataKey", arn, resource_tags=tags))
    }
    assert encrypting == {"pingvas-shared-monitoring-alertmanager"}


@pytest.mark.parametrize("principal", [None, "anonymous"])
def test_a_resource_policy_grants_only_the_principals_it_names(principal: str | None) -> None:
    """The evaluator's principal matching, which the key tests rely on."""
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"{IAM}:root"}, "Action": "kms:*"},
            {"Effect": "Allow", "Principal": "*", "Action": "kms:DescribeKey"},
        ]
    }
    assert not allowed([policy], Request("kms:PutKeyPolicy", principal=principal))
    assert allowed([policy], Request("kms:DescribeKey", principal=principal))
    assert allowed([policy], Request("kms:PutKeyPolicy", principal=f"{IAM}:root"))
