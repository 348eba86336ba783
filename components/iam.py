"""IAM helpers every domain may import (a leaf: it imports no other component): policy
documents, trust policies, the deploying account and partition, ARNs, and roles for
Kubernetes service accounts through EKS Pod Identity.

ARNs take their partition (`aws`, `aws-cn`, `aws-us-gov`) from the AWS provider the
component runs with, never a literal `aws`, so a component works in any partition.

One role per service account, trusted only by the Pod Identity agent *for that binding*:
the trust policy requires the session tags EKS Pod Identity sets (cluster ARN, namespace,
service account), so the role is useless from another namespace or cluster even if
someone creates an association for it. A PodIdentityAssociation binds the pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"


def policy_document(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    """An IAM policy JSON; statements may hold Outputs (ARNs of other resources)."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def deny_insecure_transport(
    action: str, resource: Any, sid: str = "DenyInsecureTransport"
) -> dict[str, Any]:
    """The resource-policy statement that refuses `action` on `resource` over plain HTTP."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def account_id(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The account the parent's provider deploys to."""
    return aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id


def partition(via: pulumi.Resource) -> pulumi.Output[str]:
    """The partition of the AWS provider `via` is (an `aws.Provider`, for the stacks) or
    that `via`'s children inherit (a component: call once, in its constructor)."""
    opts = (
        pulumi.InvokeOutputOptions(provider=via)
        if isinstance(via, aws.Provider)
        else pulumi.InvokeOutputOptions(parent=via)
    )
    return aws.get_partition_output(opts=opts).partition


def arn(
    partition: pulumi.Input[str],
    service: str,
    resource: pulumi.Input[str],
    *,
    region: pulumi.Input[str] = "",
    account: pulumi.Input[str] = "",
) -> pulumi.Output[str]:
    """`arn:<partition>:<service>:<region>:<account>:<resource>`; region and account stay
    empty where the service leaves them out (IAM has no region, an S3 bucket neither)."""
    return pulumi.Output.concat(
        "arn:", partition, ":", service, ":", region, ":", account, ":", resource
    )


def managed_policy_arn(partition: pulumi.Input[str], name: str) -> pulumi.Output[str]:
    """An AWS managed policy, e.g. `service-role/AmazonEBSCSIDriverPolicy`."""
    return arn(partition, "iam", f"policy/{name}", account="aws")


def access_policy_arn(partition: pulumi.Input[str], name: str) -> pulumi.Output[str]:
    """An EKS access policy, e.g. `AmazonEKSClusterAdminPolicy`."""
    return arn(partition, "eks", f"cluster-access-policy/{name}", account="aws")


def trusted_by(
    service: str,
    *,
    actions: str | list[str] = "sts:AssumeRole",
    condition: Mapping[str, Any] | None = None,
    source_account: pulumi.Input[str] | None = None,
) -> pulumi.Output[str]:
    """A role's trust policy: only `service` (e.g. `ec2.amazonaws.com`) may assume it, and
    with `source_account` only on behalf of that account (the confused-deputy guard)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": actions,
    }
    conditions: dict[str, Any] = {key: dict(value) for key, value in (condition or {}).items()}
    if source_account is not None:
        conditions.setdefault("StringEquals", {})["aws:SourceAccount"] = source_account
    if conditions:
        statement["Condition"] = conditions
    return policy_document([statement])


@dataclass(frozen=True)
class PodIdentityBinding:
    """The one place a Pod Identity role may be used from."""

    cluster_name: pulumi.Input[str]
    region: str
    namespace: pulumi.Input[str]
    service_account: str

    def cluster_arn(self, parent: pulumi.Resource) -> pulumi.Output[str]:
        return arn(
            partition(parent),
            "eks",
            pulumi.Output.concat("cluster/", self.cluster_name),
            region=self.region,
            account=account_id(parent),
        )

    def trust_policy(self, parent: pulumi.Resource) -> pulumi.Output[str]:
        return trusted_by(
            POD_IDENTITY_SERVICE,
            actions=["sts:AssumeRole", "sts:TagSession"],
            condition={
                "StringEquals": {
                    "aws:RequestTag/eks-cluster-arn": self.cluster_arn(parent),
                    "aws:RequestTag/kubernetes-namespace": self.namespace,
                    "aws:RequestTag/kubernetes-service-account": self.service_account,
                }
            },
            source_account=account_id(parent),
        )


def pod_identity_role(
    name: str,
    *,
    binding: PodIdentityBinding,
    parent: pulumi.Resource,
    policy: pulumi.Input[str] | None = None,
    managed_policy_arns: Sequence[pulumi.Input[str]] = (),
) -> aws.iam.Role:
    """A role only `binding`'s pods can assume, with an inline and/or managed policy."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        name,
        description=f"Pod Identity role for {binding.service_account}",
        assume_role_policy=binding.trust_policy(parent),
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
    binding: PodIdentityBinding,
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> aws.eks.PodIdentityAssociation:
    """Pods running as `binding`'s namespace/service account in its cluster get `role`."""
    return aws.eks.PodIdentityAssociation(
        name,
        cluster_name=binding.cluster_name,
        namespace=binding.namespace,
        service_account=binding.service_account,
        role_arn=role.arn,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
