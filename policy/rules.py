"""CrossGuard rules, as plain functions so tests and the offline check can call them.

Each rule reads a resource's inputs as the engine sends them (camelCase). Values that
are unknown during a preview are skipped, not guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from policy.baseline_rules import BASELINE_POLICIES
from policy.documents import documents, grants
from policy.isolation_rules import ISOLATION_POLICIES
from policy.stack_rules import STACK_POLICIES

INTERNET = {"0.0.0.0/0", "::/0"}
WEB_PORTS = {80, 443}


def internet_ingress_only_to_web_ports(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Only HTTP and HTTPS may be open to the whole internet (SPEC §2: the ALB)."""
    for rule in _ingress_rules(args.resource_type, args.props):
        sources = {rule.get("cidrIpv4"), rule.get("cidrIpv6")} | set(rule.get("cidrBlocks") or [])
        if not sources & INTERNET:
            continue
        ports = (rule.get("fromPort"), rule.get("toPort"))
        protocol = str(rule.get("ipProtocol") or rule.get("protocol") or "")
        if protocol != "tcp" or ports[0] != ports[1] or ports[0] not in WEB_PORTS:
            report_violation(
                f"{args.name} opens {protocol or 'all'} {ports[0]}-{ports[1]} to the internet; "
                "only TCP 80 and 443 may be",
                None,
            )


def _ingress_rules(resource_type: str, props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if resource_type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        return [props]
    if resource_type == "aws:ec2/securityGroupRule:SecurityGroupRule":
        return [props] if props.get("type") == "ingress" else []
    if resource_type == "aws:ec2/securityGroup:SecurityGroup":
        return list(props.get("ingress") or [])
    return []


def subnets_assign_no_public_ips(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Instances get public addresses only on purpose, never by subnet default."""
    if args.resource_type == "aws:ec2/subnet:Subnet" and args.props.get("mapPublicIpOnLaunch"):
        report_violation(f"{args.name} gives every instance a public IP address", None)


def log_groups_expire(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    """Logs kept forever cost forever; every log group sets a retention."""
    if args.resource_type == "aws:cloudwatch/logGroup:LogGroup" and not args.props.get(
        "retentionInDays"
    ):
        report_violation(f"{args.name} keeps its logs forever; set retentionInDays", None)


def iam_policies_name_their_actions(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Least privilege: no Allow statement grants every action of a service or of all of
    AWS (`*`, `service:*`, or a NotAction that leaves them), in any policy document:
    managed, inline (RolePolicy or a role's inlinePolicies) or a resource policy. Values
    unknown during a preview are skipped."""
    for document in documents(args.resource_type, args.props):
        if document.is_trust:
            continue
        for statement in document.statements:
            if statement.get("Effect") != "Allow" or _key_policy_for_the_account(args, statement):
                continue
            if "NotAction" in statement:
                report_violation(f"{args.name} allows everything but a list (NotAction)", None)
                continue
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            wild = [a for a in actions if isinstance(a, str) and (a == "*" or a.endswith(":*"))]
            if wild or grants(statement, "*:*"):
                report_violation(f"{args.name} allows every action of {wild or ['*']}", None)


def _key_policy_for_the_account(args: ResourceValidationArgs, statement: Mapping[str, Any]) -> bool:
    """A KMS key policy's `kms:*` for the account root is AWS's default: it delegates the
    key to the account's IAM policies, which these rules check."""
    principal = statement.get("Principal")
    roots = principal.get("AWS") if isinstance(principal, Mapping) else None
    roots = [roots] if isinstance(roots, str) else roots or []
    return (
        args.resource_type == "aws:kms/key:Key"
        and all(isinstance(root, str) and root.endswith(":root") for root in roots)
        and bool(roots)
    )


POLICIES: list[ResourceValidationPolicy] = [
    ResourceValidationPolicy(
        name="internet-ingress-only-to-web-ports",
        description="Only TCP 80 and 443 may be reachable from 0.0.0.0/0 or ::/0.",
        validate=internet_ingress_only_to_web_ports,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="subnets-assign-no-public-ips",
        description="Subnets must not give instances public IP addresses by default.",
        validate=subnets_assign_no_public_ips,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="log-groups-expire",
        description="CloudWatch log groups must set a retention period.",
        validate=log_groups_expire,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    ResourceValidationPolicy(
        name="iam-policies-name-their-actions",
        description="No IAM statement allows every action, of AWS or of a service.",
        validate=iam_policies_name_their_actions,
        enforcement_level=EnforcementLevel.MANDATORY,
    ),
    *ISOLATION_POLICIES,
    *BASELINE_POLICIES,
]
__all__ = ["POLICIES", "STACK_POLICIES"]
