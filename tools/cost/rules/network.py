"""Network and edge: NAT, public IPv4, inter-AZ transfer, VPC endpoints, ALBs (one per
ingress group), CloudFront, WAF and Route 53."""

from __future__ import annotations

from tools.cost.lines import Line, Unpriced
from tools.cost.rules.context import Context, Resource, unpriced


def nat_gateway(resource: Resource, context: Context) -> list[Line]:
    gateways = len(context.of_type(resource["type"]))
    processed = context.usage.platform.nat_processed_gb / gateways
    return [
        context.charge(resource, "VPC", "NAT gateway-hours", 1, "vpc/nat-gateway-hour", "on"),
        context.charge(
            resource,
            "VPC",
            "NAT data processed",
            processed,
            "vpc/nat-gateway-data-processed",
            f"{processed:g} GB a month",
        ),
    ]


def elastic_ip(resource: Resource, context: Context) -> list[Line]:
    price = context.prices.get("vpc/public-ipv4-address")
    return [context.charge(resource, "VPC", "public IPv4 address", 1, price, "always attached")]


def vpc(resource: Resource, context: Context) -> list[Line]:
    gigabytes = context.usage.platform.inter_az_gb
    price = context.prices.get("data-transfer/inter-az")
    return [
        context.charge(
            resource,
            "EC2",
            "inter-AZ data transfer (both directions)",
            gigabytes * 2,
            price,
            f"{gigabytes:g} GB crossing zones, charged out and in",
        )
    ]


def vpc_endpoint(resource: Resource, context: Context) -> list[Line] | Unpriced:
    inputs = resource["inputs"]
    if inputs.get("vpcEndpointType", "Gateway") == "Gateway":
        return unpriced(resource, context, "free", "gateway endpoints are free")
    zones = len(inputs.get("subnetIds") or []) or 1
    price = context.prices.get("vpc/interface-endpoint-hour-per-az")
    item = "interface endpoint AZ-hours"
    return [context.charge(resource, "VPC", item, zones, price, f"{zones} AZs")]


def load_balancer(resource: Resource, context: Context) -> list[Line] | Unpriced:
    spec = resource["inputs"]["spec"]
    group = (spec.get("group") or {}).get("name") or resource["name"]
    if group in context.seen_load_balancers:
        return unpriced(resource, context, "elsewhere", f"shares the ALB of group {group}")
    context.seen_load_balancers.add(group)
    # The platform makes the environments' classes: the traffic is the environment's
    # whose namespace the class admits.
    admitted = (spec.get("namespaceSelector") or {}).get("matchLabels") or {}
    environment = admitted.get("kubernetes.io/metadata.name", context.stack)
    lcu = context.usage.environment(environment).alb_lcu_average
    # An internet-facing ALB has a node, and a public IPv4, in every subnet it spans: the
    # platform's public subnets, one a zone.
    zones = len(context.platform.get("outputs", {}).get("availabilityZones") or []) or 1
    public = spec.get("scheme") == "internet-facing"
    lines = [
        context.charge(
            resource,
            "ELB",
            f"ALB-hours (ingress group {group})",
            1,
            "elb/alb-hour",
            "one ALB per ingress group, created by the AWS Load Balancer Controller",
        ),
        context.charge(
            resource, "ELB", "ALB LCU-hours", lcu, "elb/alb-lcu-hour", f"{lcu:g} LCU on average"
        ),
    ]
    if public:
        lines.append(
            context.charge(
                resource,
                "VPC",
                "public IPv4 addresses of the ALB's nodes",
                zones,
                "vpc/public-ipv4-address",
                f"internet-facing in {zones} zones, one address each",
            )
        )
    return lines


def cloudfront(resource: Resource, context: Context) -> list[Line]:
    usage = context.usage.environment(context.stack)
    return [
        context.charge(
            resource,
            "CloudFront",
            "data transfer out (US/Europe)",
            usage.cdn_out_gb,
            "cloudfront/data-transfer-out-us-first-10tb",
            f"{usage.cdn_out_gb:g} GB a month (free tier applied once per account, below)",
        ),
        context.charge(
            resource,
            "CloudFront",
            "HTTPS requests",
            usage.cdn_requests_millions * 100,
            "cloudfront/https-requests-us",
            f"{usage.cdn_requests_millions:g} million requests",
        ),
    ]


def web_acl(resource: Resource, context: Context) -> list[Line]:
    rules = len(resource["inputs"].get("rules") or [])
    requests = context.usage.platform.waf_requests_millions
    return [
        context.charge(resource, "WAF", "web ACL", 1, "waf/web-acl", "one ACL"),
        context.charge(resource, "WAF", "rules", rules, "waf/rule", f"{rules} rules"),
        context.charge(
            resource,
            "WAF",
            "requests inspected",
            requests,
            "waf/requests",
            f"{requests:g} million requests",
        ),
    ]


def hosted_zone(resource: Resource, context: Context) -> list[Line]:
    queries = context.usage.platform.dns_queries_millions
    return [
        context.charge(resource, "Route 53", "hosted zone", 1, "route53/hosted-zone", "1 zone"),
        context.charge(
            resource,
            "Route 53",
            "standard queries",
            queries,
            "route53/standard-queries",
            f"{queries:g} million queries",
        ),
    ]
