"""IAM roles for Kubernetes service accounts through EKS Pod Identity.

One role per service account, trusted only by the Pod Identity agent, and bound to that
one namespace/service-account pair in one cluster by a PodIdentityAssociation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws


def policy_document(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    """An IAM policy JSON; statements may hold Outputs (ARNs of other resources)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trusted_by(
    service: str,
    *,
    actions: str | list[str] = "sts:AssumeRole",
    condition: Mapping[str, Any] | None = None,
) -> pulumi.Output[str]:
    """A role's trust policy: only `service` (e.g. `ec2.amazonaws.com`) may assume it."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": actions,
    }
    if condition is not None:
        statement["Condition"] = condition
    return policy_document([statement])


def pod_identity_role(
    name: str,
    *,
    service_account: str,
    parent: pulumi.Resource,
    policy: pulumi.Input[str] | None = None,
    managed_policy_arns: Sequence[str] = (),
) -> aws.iam.Role:
    """A role only the Pod Identity agent can assume, with an inline and/or managed policy."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        name,
        description=f"Pod Identity role for {service_account}",
        assume_role_policy=trusted_by(
            "pods.eks.amazonaws.com", actions=["sts:AssumeRole", "sts:TagSession"]
        ),
        opts=child,
    )
    if policy is not None:
        aws.iam.RolePolicy(name, role=role.id, policy=policy, opts=child)
    for index, arn in enumerate(managed_policy_arns):
        aws.iam.RolePolicyAttachment(f"{name}-{index}", role=role.name, policy_arn=arn, opts=child)
    return role


def bind_service_account(
    name: str,
    role: aws.iam.Role,
    *,
    cluster_name: pulumi.Input[str],
    namespace: pulumi.Input[str],
    service_account: str,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> aws.eks.PodIdentityAssociation:
    """Pods running as `namespace/service_account` in this cluster get `role`."""
    return aws.eks.PodIdentityAssociation(
        name,
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
