"""The policy pack's rules: the committed stacks pass, and each rule catches its case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policy import rules
from policy.baseline_rules import BASELINE_POLICIES
from policy.isolation_rules import ISOLATION_POLICIES
from pulumi_offline import RecordedResource
from tests.support.stacks import run_stack
from tools.policy_check import Violation, check, validation_args


def violations_of(rule: Any, resource_type: str, props: dict[str, Any]) -> list[str]:
    resource = RecordedResource(
        urn=f"urn:pulumi:test::pingvas::{resource_type}::r",
        type=resource_type,
        name="r",
        id="r-1",
        parent=None,
        provider=None,
        inputs=props,
    )
    found: list[str] = []
    rule(validation_args(resource), lambda message, _urn=None: found.append(message))
    return found


def test_every_rule_of_the_pack_is_tested() -> None:
    """policy/rules.py's own four rules are tested here; the isolation and baseline rules
    case by case in test_isolation_rules.py and test_baseline_rules.py, each of which checks
    that it covers its module's rules."""
    own = (
        rules.internet_ingress_only_to_web_ports,
        rules.subnets_assign_no_public_ips,
        rules.log_groups_expire,
        rules.iam_policies_name_their_actions,
    )
    # Each rule function is named as its policy.
    assert {policy.name for policy in rules.POLICIES} == {
        rule.__name__.replace("_", "-") for rule in own
    } | {policy.name for policy in (*ISOLATION_POLICIES, *BASELINE_POLICIES)}
    assert len(rules.POLICIES) + len(rules.STACK_POLICIES) >= 25


@pytest.mark.parametrize("stack", ["shared", "dev", "prod", "pr-7"])
def test_committed_stacks_have_no_violations(stack: str) -> None:
    assert check(run_stack(stack)) == []


INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.mark.parametrize(
    ("props", "violates"),
    [
        ({"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443}, False),
        ({"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22}, True),
        ({"cidrIpv4": "0.0.0.0/0", "ipProtocol": "tcp", "fromPort": 80, "toPort": 443}, True),
        ({"cidrIpv4": "0.0.0.0/0", "ipProtocol": "-1"}, True),
        ({"cidrIpv6": "::/0", "ipProtocol": "tcp", "fromPort": 5432, "toPort": 5432}, True),
        ({"cidrIpv4": "10.0.0.0/16", "ipProtocol": "tcp", "fromPort": 22, "toPort": 22}, False),
        ({"referencedSecurityGroupId": "sg-1", "ipProtocol": "-1"}, False),
    ],
)
def test_internet_ingress_only_to_web_ports(props: dict[str, Any], violates: bool) -> None:
    found = violations_of(rules.internet_ingress_only_to_web_ports, INGRESS, props)
    assert bool(found) is violates


def test_inline_security_group_rules_are_checked_too() -> None:
    props = {
        "ingress": [
            {"cidrBlocks": ["0.0.0.0/0"], "protocol": "tcp", "fromPort": 443, "toPort": 443},
            {"cidrBlocks": ["0.0.0.0/0"], "protocol": "tcp", "fromPort": 6379, "toPort": 6379},
        ]
    }
    found = violations_of(
        rules.internet_ingress_only_to_web_ports, "aws:ec2/securityGroup:SecurityGroup", props
    )
    assert found == ["r opens tcp 6379-6379 to the internet; only TCP 80 and 443 may be"]


def test_subnets_assign_no_public_ips() -> None:
    subnet = "aws:ec2/subnet:Subnet"
    rule = rules.subnets_assign_no_public_ips
    assert violations_of(rule, subnet, {"mapPublicIpOnLaunch": True})
    assert not violations_of(rule, subnet, {"mapPublicIpOnLaunch": False})


def test_log_groups_expire() -> None:
    group = "aws:cloudwatch/logGroup:LogGroup"
    assert violations_of(rules.log_groups_expire, group, {"name": "x"})
    assert not violations_of(rules.log_groups_expire, group, {"retentionInDays": 30})


@pytest.mark.parametrize(
    ("action", "violates"),
    [("*", True), (["s3:GetObject", "*"], True), ("logs:PutLogEvents", False)],
)
def test_iam_policies_name_their_actions(action: Any, violates: bool) -> None:
    document = json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": action, "Resource": "arn:aws:s3:::b/*"}]}
    )
    found = violations_of(
        rules.iam_policies_name_their_actions, "aws:iam/rolePolicy:RolePolicy", {"policy": document}
    )
    assert bool(found) is violates


def test_check_reports_the_policy_and_resource() -> None:
    run = run_stack("shared")
    subnet = run.of_type("aws:ec2/subnet:Subnet")[0]
    bad = RecordedResource(**{**subnet.__dict__, "inputs": {"mapPublicIpOnLaunch": True}})
    run_with_bad = type(run)(run.project, run.stack, [bad], {})
    assert check(run_with_bad) == [
        Violation(
            "subnets-assign-no-public-ips",
            subnet.name,
            f"{subnet.name} gives every instance a public IP address",
        )
    ]
