"""The platform network (SPEC §2): VPC, subnets in every AZ, NAT, routes, the S3 gateway
endpoint, flow logs, and the least-privilege security groups every other layer uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.conventions import KEPT_LOGS_CLASS, PREVIEW_NODES_TAG, SERVICE_PORTS
from components.iam import trusted_by

EVERYWHERE = "0.0.0.0/0"


class NatGateways(StrEnum):
    """How the private subnets reach the internet."""

    SINGLE = "single"  # one NAT gateway in the first AZ (cheapest; no AZ redundancy)
    PER_AZ = "per_az"  # one per AZ: survives an AZ outage
    NONE = "none"  # private subnets have no internet route at all


@dataclass(frozen=True)
class SecurityGroupRule:
    """One rule of SPEC §2's table. `peer` is a CIDR or the name of another group here."""

    group: str
    direction: Literal["ingress", "egress"]
    ports: tuple[int, int] | None  # None: all protocols and ports
    peer: str
    description: str


# The group of the nodes previews run on (pr-<N> pools, their own tainted NodePools):
# everything `nodes` may do except reach the data stores of dev and prod. A preview's
# deployer edits its namespace's NetworkPolicies, so they cannot keep its pods from
# Aurora or ElastiCache; a security group on the node's interfaces (which its pods' VPC
# CNI addresses share) can. The preview node class must select this group by id and
# never the `karpenter.sh/discovery` tag, which names `nodes`.
PREVIEW_NODES = "preview-nodes"


def security_group_rules(redis_groups: list[str]) -> list[SecurityGroupRule]:
    """SPEC §2, least privilege: data stores accept only the nodes and send nothing; the
    preview nodes get the API's and the models' paths, not the data stores'."""
    rules = [
        SecurityGroupRule("alb", "ingress", (80, 80), EVERYWHERE, "HTTP from the internet"),
        SecurityGroupRule("alb", "ingress", (443, 443), EVERYWHERE, "HTTPS from the internet"),
    ]
    for nodes in ("nodes", PREVIEW_NODES):
        rules += [
            SecurityGroupRule(
                "alb", "egress", SERVICE_PORTS, nodes, f"API services on the {nodes}"
            ),
            SecurityGroupRule(nodes, "ingress", SERVICE_PORTS, "alb", "API services from the ALB"),
            SecurityGroupRule(nodes, "ingress", None, nodes, "node to node"),
            SecurityGroupRule(nodes, "egress", None, EVERYWHERE, "nodes reach out"),
            SecurityGroupRule("efs", "ingress", (2049, 2049), nodes, f"NFS from the {nodes}"),
        ]
    rules.append(
        SecurityGroupRule("rds", "ingress", (5432, 5432), "nodes", "PostgreSQL from the nodes")
    )
    rules += [
        SecurityGroupRule(f"redis-{env}", "ingress", (6379, 6379), "nodes", "Redis from the nodes")
        for env in redis_groups
    ]
    return rules


@dataclass
class NetworkArgs:
    region: str
    availability_zones: list[str]
    cidr: str = "10.0.0.0/16"
    public_subnet_cidrs: list[str] = field(
        default_factory=lambda: ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]
    )
    private_subnet_cidrs: list[str] = field(
        default_factory=lambda: ["10.0.11.0/24", "10.0.12.0/24", "10.0.13.0/24"]
    )
    nat_mode: NatGateways = NatGateways.SINGLE
    # Value of the `karpenter.sh/discovery` tag on private subnets and the node group.
    karpenter_discovery: str | None = None
    redis_security_groups: list[str] = field(default_factory=lambda: ["dev", "prod"])
    flow_logs: bool = True
    flow_log_retention_days: int = 30
    flow_log_traffic_type: str = "ALL"


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    private_route_table_ids: list[pulumi.Output[str]]
    nat_gateway_ids: list[pulumi.Output[str]]
    security_group_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:network:Network", name, None, opts)
        self._name = name
        self._args = args
        self._check(args)
        child = pulumi.ResourceOptions(parent=self)

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": f"{name}-vpc"},
            opts=child,
        )
        self.vpc_id = self.vpc.id
        # Adopting the default group with no rules strips AWS's allow-all defaults from it.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            tags={"Name": f"{name}-default-deny-all"},
            opts=child,
        )
        self.internet_gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": f"{name}-igw"}, opts=child
        )

        public = self._subnets("public", args.public_subnet_cidrs, {"kubernetes.io/role/elb": "1"})
        private_tags = {"kubernetes.io/role/internal-elb": "1"}
        if args.karpenter_discovery:
            private_tags["karpenter.sh/discovery"] = args.karpenter_discovery
        private = self._subnets("private", args.private_subnet_cidrs, private_tags)
        self.public_subnet_ids = [subnet.id for subnet in public]
        self.private_subnet_ids = [subnet.id for subnet in private]

        self._public_routes(public)
        nat_gateways = self._nat_gateways(public)
        self.nat_gateway_ids = [nat.id for nat in nat_gateways]
        private_tables = self._private_routes(private, nat_gateways)
        self.private_route_table_ids = [table.id for table in private_tables]

        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=self.private_route_table_ids,
            tags={"Name": f"{name}-s3-endpoint"},
            opts=child,
        )
        if args.flow_logs:
            self._flow_logs()
        self.security_group_ids = self._security_groups()

        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "private_route_table_ids": self.private_route_table_ids,
                "nat_gateway_ids": self.nat_gateway_ids,
                "security_group_ids": self.security_group_ids,
            }
        )

    @staticmethod
    def _check(args: NetworkArgs) -> None:
        zones = len(args.availability_zones)
        if not (len(args.public_subnet_cidrs) == len(args.private_subnet_cidrs) == zones):
            raise ValueError("NetworkArgs needs one public and one private subnet per AZ")

    def _subnets(
        self, tier: str, cidrs: list[str], role_tags: dict[str, str]
    ) -> list[aws.ec2.Subnet]:
        subnets = []
        for zone, cidr in zip(self._args.availability_zones, cidrs, strict=True):
            subnet_name = f"{self._name}-{tier}-{zone}"
            subnets.append(
                aws.ec2.Subnet(
                    subnet_name,
                    vpc_id=self.vpc.id,
                    cidr_block=cidr,
                    availability_zone=zone,
                    # Nothing gets a public address by accident; the NAT uses an EIP.
                    map_public_ip_on_launch=False,
                    tags={"Name": subnet_name, "tier": tier, **role_tags},
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )
        return subnets

    def _public_routes(self, public: list[aws.ec2.Subnet]) -> None:
        table = self._route_table("public")
        aws.ec2.Route(
            f"{self._name}-public-default",
            route_table_id=table.id,
            destination_cidr_block=EVERYWHERE,
            gateway_id=self.internet_gateway.id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        for zone, subnet in zip(self._args.availability_zones, public, strict=True):
            self._associate(f"public-{zone}", table, subnet)

    def _nat_gateways(self, public: list[aws.ec2.Subnet]) -> list[aws.ec2.NatGateway]:
        mode = self._args.nat_mode
        count = {NatGateways.SINGLE: 1, NatGateways.PER_AZ: len(public), NatGateways.NONE: 0}[mode]
        gateways = []
        for zone, subnet in list(zip(self._args.availability_zones, public, strict=True))[:count]:
            address = aws.ec2.Eip(
                f"{self._name}-nat-{zone}",
                domain="vpc",
                tags={"Name": f"{self._name}-nat-{zone}"},
                opts=pulumi.ResourceOptions(parent=self),
            )
            gateways.append(
                aws.ec2.NatGateway(
                    f"{self._name}-nat-{zone}",
                    allocation_id=address.id,
                    subnet_id=subnet.id,
                    connectivity_type="public",
                    tags={"Name": f"{self._name}-nat-{zone}"},
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.internet_gateway]),
                )
            )
        return gateways

    def _private_routes(
        self, private: list[aws.ec2.Subnet], nat_gateways: list[aws.ec2.NatGateway]
    ) -> list[aws.ec2.RouteTable]:
        """One table per NAT gateway (per-AZ mode keeps traffic in its AZ), or one table."""
        zones = self._args.availability_zones
        subnet_of_zone = dict(zip(zones, private, strict=True))
        groups: list[tuple[str, list[str], aws.ec2.NatGateway | None]]
        if len(nat_gateways) > 1:
            groups = [
                (f"private-{zone}", [zone], nat)
                for zone, nat in zip(zones, nat_gateways, strict=True)
            ]
        else:
            groups = [("private", zones, nat_gateways[0] if nat_gateways else None)]
        tables = []
        for suffix, served_zones, nat in groups:
            table = self._route_table(suffix)
            if nat is not None:
                aws.ec2.Route(
                    f"{self._name}-{suffix}-default",
                    route_table_id=table.id,
                    destination_cidr_block=EVERYWHERE,
                    nat_gateway_id=nat.id,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            for zone in served_zones:
                self._associate(f"private-{zone}", table, subnet_of_zone[zone])
            tables.append(table)
        return tables

    def _route_table(self, suffix: str) -> aws.ec2.RouteTable:
        table_name = f"{self._name}-{suffix}"
        return aws.ec2.RouteTable(
            table_name,
            vpc_id=self.vpc.id,
            tags={"Name": table_name},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _associate(self, suffix: str, table: aws.ec2.RouteTable, subnet: aws.ec2.Subnet) -> None:
        aws.ec2.RouteTableAssociation(
            f"{self._name}-{suffix}",
            route_table_id=table.id,
            subnet_id=subnet.id,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _flow_logs(self) -> None:
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-flow-logs",
            name=f"/pingvas/{self._name}/vpc-flow-logs",
            retention_in_days=self._args.flow_log_retention_days,
            log_group_class=KEPT_LOGS_CLASS,
            # Named: a class change must delete the old group before creating the new one.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        role = aws.iam.Role(
            f"{self._name}-flow-logs",
            description="VPC flow logs delivery to CloudWatch Logs",
            # Only this account's flow logs may use the role (confused deputy).
            assume_role_policy=trusted_by(
                "vpc-flow-logs.amazonaws.com", source_account=account_id.account_id
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-flow-logs",
            role=role.id,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [
                                log_group.arn,
                                pulumi.Output.concat(log_group.arn, ":log-stream:*"),
                            ],
                        }
                    ],
                }
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{self._name}-flow-logs",
            vpc_id=self.vpc.id,
            traffic_type=self._args.flow_log_traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{self._name}-flow-logs"},
            opts=child,
        )

    def _security_groups(self) -> dict[str, pulumi.Output[str]]:
        rules = security_group_rules(self._args.redis_security_groups)
        groups: dict[str, aws.ec2.SecurityGroup] = {}
        for group_name in dict.fromkeys(rule.group for rule in rules):
            tags = {"Name": f"{self._name}-{group_name}"}
            if group_name == "nodes" and self._args.karpenter_discovery:
                tags["karpenter.sh/discovery"] = self._args.karpenter_discovery
            if group_name == "preview-nodes" and self._args.karpenter_discovery:
                tags[PREVIEW_NODES_TAG] = self._args.karpenter_discovery
            # No inline rules: the provider then removes AWS's default allow-all egress, so
            # a group sends nothing unless a rule below says so.
            groups[group_name] = aws.ec2.SecurityGroup(
                f"{self._name}-{group_name}",
                vpc_id=self.vpc.id,
                description=f"pingvas {group_name}",
                revoke_rules_on_delete=True,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
        for rule in rules:
            self._rule(rule, groups)
        return {group_name: group.id for group_name, group in groups.items()}

    def _rule(self, rule: SecurityGroupRule, groups: dict[str, aws.ec2.SecurityGroup]) -> None:
        peer_group = groups.get(rule.peer)
        ports = rule.ports
        if ports is None:
            port_label = "all"
        else:
            port_label = str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"
        peer_label = rule.peer if peer_group is not None else "anywhere"
        direction = "in" if rule.direction == "ingress" else "out"
        rule_name = f"{self._name}-{rule.group}-{direction}-{port_label}-{peer_label}"
        args_type = (
            aws.vpc.SecurityGroupIngressRuleArgs
            if rule.direction == "ingress"
            else aws.vpc.SecurityGroupEgressRuleArgs
        )
        rule_args = args_type(
            security_group_id=groups[rule.group].id,
            description=rule.description,
            ip_protocol="-1" if ports is None else "tcp",
            from_port=None if ports is None else ports[0],
            to_port=None if ports is None else ports[1],
            cidr_ipv4=None if peer_group is not None else rule.peer,
            referenced_security_group_id=peer_group.id if peer_group is not None else None,
        )
        rule_opts = pulumi.ResourceOptions(parent=self)
        if isinstance(rule_args, aws.vpc.SecurityGroupIngressRuleArgs):
            aws.vpc.SecurityGroupIngressRule(rule_name, rule_args, rule_opts)
        else:
            aws.vpc.SecurityGroupEgressRule(rule_name, rule_args, rule_opts)
