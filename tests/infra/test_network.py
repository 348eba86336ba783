"""SPEC §2 network facts, read from the real program's offline run of `shared`."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from pulumi_offline import OfflineRun, RecordedResource

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
ROUTE = "aws:ec2/route:Route"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ASSOCIATION = "aws:ec2/routeTableAssociation:RouteTableAssociation"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"

SPEC_SUBNETS = {
    ("public", "us-east-1a"): "10.0.1.0/24",
    ("public", "us-east-1b"): "10.0.2.0/24",
    ("public", "us-east-1c"): "10.0.3.0/24",
    ("private", "us-east-1a"): "10.0.11.0/24",
    ("private", "us-east-1b"): "10.0.12.0/24",
    ("private", "us-east-1c"): "10.0.13.0/24",
}


def group_name(run: OfflineRun, group_id: str) -> str:
    return run.by_id(group_id).name.removeprefix("pingvas-shared-")


def rules_of(run: OfflineRun) -> set[tuple[str, str, str, int | None, int | None, str]]:
    """(group, direction, protocol, from, to, peer) for every rule; peer is a CIDR or group."""
    rules = set()
    for type_token, direction in ((INGRESS, "in"), (EGRESS, "out")):
        for rule in run.of_type(type_token):
            inputs = rule.inputs
            peer = inputs.get("cidrIpv4") or group_name(run, inputs["referencedSecurityGroupId"])
            rules.add(
                (
                    group_name(run, inputs["securityGroupId"]),
                    direction,
                    inputs["ipProtocol"],
                    inputs.get("fromPort"),
                    inputs.get("toPort"),
                    peer,
                )
            )
    return rules


def test_one_vpc_with_dns(shared: OfflineRun) -> None:
    (vpc,) = shared.of_type(VPC)
    assert vpc.inputs["cidrBlock"] == "10.0.0.0/16"
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True


def test_six_subnets_with_spec_cidrs_over_three_zones(shared: OfflineRun) -> None:
    (vpc,) = shared.of_type(VPC)
    subnets = {
        (s.inputs["tags"]["tier"], s.inputs["availabilityZone"]): s.inputs["cidrBlock"]
        for s in shared.of_type(SUBNET)
    }
    assert subnets == SPEC_SUBNETS
    for subnet in shared.of_type(SUBNET):
        assert subnet.inputs["vpcId"] == vpc.id
        assert subnet.inputs["mapPublicIpOnLaunch"] is False


def test_subnet_tags_for_load_balancers_and_karpenter(shared: OfflineRun) -> None:
    for subnet in shared.of_type(SUBNET):
        tags = subnet.inputs["tags"]
        if tags["tier"] == "public":
            assert tags["kubernetes.io/role/elb"] == "1"
            assert "karpenter.sh/discovery" not in tags
        else:
            assert tags["kubernetes.io/role/internal-elb"] == "1"
            assert tags["karpenter.sh/discovery"] == "pingvas-shared-eks"


def routes_by_subnet(run: OfflineRun) -> dict[str, dict[str, str]]:
    """Subnet name → {destination: target resource type} through its route table."""
    table_of_subnet = {
        run.by_id(a.inputs["subnetId"]).name: a.inputs["routeTableId"]
        for a in run.of_type(ASSOCIATION)
    }
    result: dict[str, dict[str, str]] = {}
    for subnet, table_id in table_of_subnet.items():
        result[subnet] = {}
        for route in run.of_type(ROUTE):
            if route.inputs["routeTableId"] == table_id:
                target_id = route.inputs.get("gatewayId") or route.inputs.get("natGatewayId")
                assert target_id, f"route {route.name} has no gateway"
                result[subnet][route.inputs["destinationCidrBlock"]] = run.by_id(target_id).name
    return result


def test_single_nat_in_the_first_zone_serves_every_private_subnet(shared: OfflineRun) -> None:
    (nat,) = shared.of_type(NAT)
    assert shared.by_id(nat.inputs["subnetId"]).name == "pingvas-shared-public-us-east-1a"
    assert nat.inputs["allocationId"].startswith("eipalloc-")
    routes = routes_by_subnet(shared)
    for zone in ("us-east-1a", "us-east-1b", "us-east-1c"):
        assert routes[f"pingvas-shared-public-{zone}"] == {"0.0.0.0/0": "pingvas-shared-igw"}
        assert routes[f"pingvas-shared-private-{zone}"] == {
            "0.0.0.0/0": "pingvas-shared-nat-us-east-1a"
        }
    assert len(shared.of_type(ROUTE_TABLE)) == 2


def test_per_az_nat_keeps_each_zone_on_its_own_gateway(
    stack_with: Callable[..., OfflineRun],
) -> None:
    run = stack_with("shared", {"pingvas:network": {"natMode": "per_az"}})
    nats = run.of_type(NAT)
    assert sorted(run.by_id(n.inputs["subnetId"]).name for n in nats) == [
        f"pingvas-shared-public-us-east-1{z}" for z in "abc"
    ]
    routes = routes_by_subnet(run)
    for zone in ("us-east-1a", "us-east-1b", "us-east-1c"):
        assert routes[f"pingvas-shared-private-{zone}"] == {
            "0.0.0.0/0": f"pingvas-shared-nat-{zone}"
        }


def test_no_nat_leaves_private_subnets_without_internet(
    stack_with: Callable[..., OfflineRun],
) -> None:
    run = stack_with("shared", {"pingvas:network": {"natMode": "none"}})
    assert run.of_type(NAT) == []
    assert run.of_type("aws:ec2/eip:Eip") == []
    routes = routes_by_subnet(run)
    assert routes["pingvas-shared-private-us-east-1b"] == {}
    assert routes["pingvas-shared-public-us-east-1b"] == {"0.0.0.0/0": "pingvas-shared-igw"}


def test_s3_gateway_endpoint_on_every_private_route_table(shared: OfflineRun) -> None:
    (endpoint,) = shared.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert endpoint.inputs["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert endpoint.inputs["vpcEndpointType"] == "Gateway"
    private_tables = {
        a.inputs["routeTableId"]
        for a in shared.of_type(ASSOCIATION)
        if "private" in shared.by_id(a.inputs["subnetId"]).name
    }
    assert set(endpoint.inputs["routeTableIds"]) == private_tables


def test_security_group_rules_are_spec_least_privilege(shared: OfflineRun) -> None:
    assert rules_of(shared) == {
        ("alb", "in", "tcp", 80, 80, "0.0.0.0/0"),
        ("alb", "in", "tcp", 443, 443, "0.0.0.0/0"),
        ("alb", "out", "tcp", 8001, 8005, "nodes"),
        ("nodes", "in", "tcp", 8001, 8005, "alb"),
        ("nodes", "in", "-1", None, None, "nodes"),
        ("nodes", "out", "-1", None, None, "0.0.0.0/0"),
        ("rds", "in", "tcp", 5432, 5432, "nodes"),
        ("redis-dev", "in", "tcp", 6379, 6379, "nodes"),
        ("redis-prod", "in", "tcp", 6379, 6379, "nodes"),
        ("efs", "in", "tcp", 2049, 2049, "nodes"),
        # Preview nodes: the ALB and the models' NFS; no data store admits them.
        ("alb", "out", "tcp", 8001, 8005, "preview-nodes"),
        ("preview-nodes", "in", "tcp", 8001, 8005, "alb"),
        ("preview-nodes", "out", "-1", None, None, "0.0.0.0/0"),
        ("efs", "in", "tcp", 2049, 2049, "preview-nodes"),
    }


def test_groups_have_no_inline_rules_so_data_stores_send_nothing(shared: OfflineRun) -> None:
    groups = {g.name: g for g in shared.of_type(SECURITY_GROUP)}
    assert set(groups) == {
        f"pingvas-shared-{g}"
        for g in ("alb", "nodes", "rds", "efs", "preview-nodes", "redis-dev", "redis-prod")
    }
    for group in groups.values():
        # Inline rules would override the separate rules; none means AWS's default
        # allow-all egress is removed on creation.
        assert "egress" not in group.inputs
        assert "ingress" not in group.inputs
    assert groups["pingvas-shared-nodes"].inputs["tags"]["karpenter.sh/discovery"] == (
        "pingvas-shared-eks"
    )
    (default_group,) = shared.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert "ingress" not in default_group.inputs
    assert "egress" not in default_group.inputs


def test_flow_logs_go_to_a_retained_log_group_through_a_scoped_role(shared: OfflineRun) -> None:
    (flow_log,) = shared.of_type("aws:ec2/flowLog:FlowLog")
    log_group = shared.one("aws:cloudwatch/logGroup:LogGroup", "pingvas-shared-flow-logs")
    (vpc,) = shared.of_type(VPC)
    assert flow_log.inputs["vpcId"] == vpc.id
    assert flow_log.inputs["trafficType"] == "ALL"
    assert flow_log.inputs["logDestinationType"] == "cloud-watch-logs"
    assert log_group.inputs["retentionInDays"] == 30

    role = shared.one("aws:iam/role:Role", "pingvas-shared-flow-logs")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}

    policy = shared.one("aws:iam/rolePolicy:RolePolicy", "pingvas-shared-flow-logs")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    # This log group and its streams only.
    assert statement["Resource"] == [
        f"arn:aws:logs:us-east-1:123456789012:log-group:{log_group.inputs['name']}",
        f"arn:aws:logs:us-east-1:123456789012:log-group:{log_group.inputs['name']}:log-stream:*",
    ]
    assert "*" not in statement["Action"]


@pytest.mark.parametrize("retention", [7, 365])
def test_flow_log_retention_comes_from_config(
    stack_with: Callable[..., OfflineRun], retention: int
) -> None:
    run = stack_with("shared", {"pingvas:network": {"flowLogs": {"retentionDays": retention}}})
    log_group = run.one("aws:cloudwatch/logGroup:LogGroup", "pingvas-shared-flow-logs")
    assert log_group.inputs["retentionInDays"] == retention


def test_every_network_resource_is_a_child_of_the_component(shared: OfflineRun) -> None:
    (component,) = shared.of_type("pingvas:network:Network")
    network_types = (VPC, SUBNET, NAT, ROUTE, ROUTE_TABLE, ASSOCIATION, SECURITY_GROUP)
    children: list[RecordedResource] = [r for r in shared.resources if r.type in network_types]
    assert len(children) == 1 + 6 + 1 + 2 + 2 + 6 + 7  # groups: 6 and the preview nodes
    assert all(r.parent == component.urn for r in children)
