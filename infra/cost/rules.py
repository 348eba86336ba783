"""How each resource type of a preview is priced.

A rule turns one resource of a preview document (DESIGN.md §3) into priced lines, using
its inputs (instance types, node counts, lifecycle rules, retention), the usage file and
the price table. Types with no rule are free (listed with the reason), priced on another
resource's line, or "not priced" — never silently zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.app_release import CHART_DIR, deep_merge, profile_values
from infra.cost.lines import Line, Unpriced
from infra.cost.prices import HOURS_PER_MONTH, Price, PriceTable
from infra.cost.usage import Usage

Resource = dict[str, Any]
APP_CHART = "./app/chart"
DAYS_PER_MONTH = 365 / 12
# vCPUs and GiB of the instance types the general pool is priced as.
INSTANCE_SPECS = {
    "c6i.large": (2, 4),
    "m6i.large": (2, 8),
    "m7g.large": (2, 8),
    "t3.medium": (2, 4),
    "t4g.medium": (2, 4),
}
STORAGE_CLASS_PRICES = {
    "STANDARD": "s3/standard-storage",
    "STANDARD_IA": "s3/standard-ia-storage",
    "GLACIER_IR": "s3/glacier-instant-retrieval-storage",
    "GLACIER": "s3/glacier-flexible-retrieval-storage",
    "INTELLIGENT_TIERING": "s3/intelligent-tiering-frequent-storage",
}
CACHE_ENGINES = {"redis": "redis-oss", "valkey": "valkey"}

# Types that cost nothing by themselves, and why.
FREE = {
    "aws:acm/certificate:Certificate": "public ACM certificates are free",
    "aws:acm/certificateValidation:CertificateValidation": "a validation, not a resource",
    "aws:backup/selection:Selection": "the plan's vault holds what costs",
    "aws:backup/vault:Vault": "charged per GB of recovery points (see the plan)",
    "aws:cloudfront/originAccessControl:OriginAccessControl": "free",
    "aws:cloudwatch/eventRule:EventRule": "AWS service events on the default bus are free",
    "aws:cloudwatch/eventTarget:EventTarget": "free",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "free",
    "aws:ec2/flowLog:FlowLog": "priced as its log group's ingestion",
    "aws:ec2/internetGateway:InternetGateway": "free",
    "aws:ec2/launchTemplate:LaunchTemplate": "priced on the node group that uses it",
    "aws:ec2/route:Route": "free",
    "aws:ec2/routeTable:RouteTable": "free",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "free",
    "aws:ec2/securityGroup:SecurityGroup": "free",
    "aws:ec2/subnet:Subnet": "free",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": "free",
    "aws:efs/accessPoint:AccessPoint": "free",
    "aws:efs/backupPolicy:BackupPolicy": "free (the backup plan's storage is not)",
    "aws:efs/fileSystemPolicy:FileSystemPolicy": "free",
    "aws:efs/mountTarget:MountTarget": "free",
    "aws:eks/accessEntry:AccessEntry": "free",
    "aws:eks/addon:Addon": "free (runs on the nodes)",
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": "free",
    "aws:elasticache/subnetGroup:SubnetGroup": "free",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "free",
    "aws:iam/policy:Policy": "free",
    "aws:iam/role:Role": "free",
    "aws:iam/rolePolicy:RolePolicy": "free",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": "free",
    "aws:kms/alias:Alias": "free",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": "free",
    "aws:rds/subnetGroup:SubnetGroup": "free",
    "aws:route53/record:Record": "queries are priced on the zone",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "priced on its bucket",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "free",
    "aws:s3/bucketPolicy:BucketPolicy": "free",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "free",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "SSE-S3 is free"
    ),
    "aws:s3/bucketVersioning:BucketVersioning": "noncurrent versions expire (lifecycle)",
    "aws:secretsmanager/secretVersion:SecretVersion": "priced on its secret",
    "aws:sqs/queue:Queue": "within SQS's free million requests a month",
    "aws:sqs/queuePolicy:QueuePolicy": "free",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "free",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "free",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration": "priced as its log group",
    "aws:wafv2/ipSet:IpSet": "free",
    "aws:wafv2/regexPatternSet:RegexPatternSet": "free",
    "aws:cloudfront/cachePolicy:CachePolicy": "free",
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": "free",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "free",
    "aws:ec2/networkAcl:NetworkAcl": "free",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "free",
    "aws:elasticache/parameterGroup:ParameterGroup": "free",
    "aws:elasticache/user:User": "free",
    "aws:elasticache/userGroup:UserGroup": "free",
    "aws:iam/instanceProfile:InstanceProfile": "free",
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": "free",
    "aws:iam/user:User": "free",
    "aws:iam/userPolicy:UserPolicy": "free",
    "aws:kms/keyPolicy:KeyPolicy": "free",
    "aws:rds/clusterRoleAssociation:ClusterRoleAssociation": "free",
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": "free",
    "aws:s3/bucketLogging:BucketLogging": "free (the log objects are the target bucket's)",
    "aws:s3/bucketNotification:BucketNotification": "free",
    "aws:secretsmanager/secretPolicy:SecretPolicy": "free",
    "aws:secretsmanager/secretRotation:SecretRotation": "free (its Lambda is not)",
    "aws:sns/topicPolicy:TopicPolicy": "free",
    "aws:sns/topicSubscription:TopicSubscription": "charged per delivery; alerts are few",
    "aws:sns/topic:Topic": "charged per message; alerts are few",
    "aws:ssm/parameter:Parameter": "standard parameters are free",
}


@dataclass
class Context:
    """One stack's preview document and what its rules read besides."""

    stack: str
    document: Mapping[str, Any]
    usage: Usage
    prices: PriceTable
    # The platform's document: the stack's own, or the shared stack it references.
    platform: Mapping[str, Any]
    seen_load_balancers: set[str] = field(default_factory=set)

    def by_id(self, resource_id: str) -> Resource | None:
        for resource in self.document["resources"]:
            if resource["id"] == resource_id:
                return resource
        return None

    def of_type(self, type_token: str, document: Mapping[str, Any] | None = None) -> list[Resource]:
        source = document if document is not None else self.document
        return [r for r in source["resources"] if r["type"] == type_token]

    def role(self, resource: Resource) -> str:
        """The resource's name without the `<project>-<stack>-` prefix."""
        prefix = f"{self.document['project']}-{self.stack}-"
        return str(resource["name"]).removeprefix(prefix)

    def charge(
        self,
        resource: Resource,
        service: str,
        item: str,
        quantity: float,
        price: Price | str,  # a Price, or its key in the table
        assumption: str,
        bounds: tuple[float, float] | None = None,
    ) -> Line:
        if isinstance(price, str):
            price = self.prices.get(price)
        units = HOURS_PER_MONTH if price.unit.endswith("hour") else 1
        return Line(
            stack=self.stack,
            resource=resource["name"],
            type=resource["type"],
            urn=resource["urn"],
            service=service,
            item=item,
            quantity=round(quantity, 6),
            unit_price=price.price,
            price_unit=price.unit,
            units=units,
            monthly=round(quantity * price.price * units, 2),
            assumption=assumption,
            price_key=price.key,
            confidence=price.confidence,
            bounds=bounds,
        )


def price_resource(resource: Resource, context: Context) -> list[Line] | Unpriced | None:
    """Lines for `resource`; an `Unpriced` when it has none; None for what is not a cloud
    resource at all (components, providers, stack references)."""
    type_token = resource["type"]
    if type_token.startswith(("pingvas:", "pulumi:")):
        return None
    rule = RULES.get(type_token)
    if rule is not None:
        try:
            return rule(resource, context)
        except LookupError as error:
            return _unpriced(resource, context, "not priced", str(error))
    if type_token in FREE:
        return _unpriced(resource, context, "free", FREE[type_token])
    if type_token.startswith("random:"):
        return _unpriced(resource, context, "free", "generated locally")
    if type_token.startswith("kubernetes:"):
        return _unpriced(resource, context, "free", "a Kubernetes object; its pods are priced")
    return _unpriced(resource, context, "not priced", "no pricing rule for this type")


def _unpriced(resource: Resource, context: Context, status: str, reason: str) -> Unpriced:
    return Unpriced(context.stack, resource["name"], resource["type"], status, reason)


# --- compute -----------------------------------------------------------------------------


def eks_cluster(resource: Resource, context: Context) -> list[Line]:
    price = context.prices.get("eks/cluster-standard-support")
    version = resource["inputs"].get("version", "?")
    assumption = f"Kubernetes {version} in standard support"
    return [context.charge(resource, "EKS", "control plane", 1, price, assumption)]


def instance(resource: Resource, context: Context) -> list[Line]:
    instance_type = resource["inputs"]["instanceType"]
    price = context.prices.ec2_hour(instance_type, "on-demand")
    return [context.charge(resource, "EC2", f"{instance_type} on-demand", 1, price, "always on")]


def node_group(resource: Resource, context: Context) -> list[Line]:
    inputs = resource["inputs"]
    scaling = inputs["scalingConfig"]
    instance_type = inputs["instanceTypes"][0]
    capacity = "spot" if inputs.get("capacityType") == "SPOT" else "on-demand"
    price = context.prices.ec2_hour(instance_type, capacity)
    low, desired, high = scaling["minSize"], scaling["desiredSize"], scaling["maxSize"]
    lines = [
        context.charge(
            resource,
            "EC2",
            f"{instance_type} {capacity} node-hours",
            desired,
            price,
            f"{desired} nodes (desired; {low}-{high} allowed)",
            bounds=_bounds(low, high, price.price * HOURS_PER_MONTH),
        )
    ]
    template_id = (inputs.get("launchTemplate") or {}).get("id")
    template = context.by_id(template_id) if template_id else None
    if template is not None:
        size = template["inputs"]["blockDeviceMappings"][0]["ebs"]["volumeSize"]
        lines.append(_root_volumes(resource, context, desired, float(size), low, high))
    return lines


def node_pool(resource: Resource, context: Context) -> list[Line] | Unpriced:
    spec = resource["inputs"]["spec"]
    gpu_limit = spec.get("limits", {}).get("nvidia.com/gpu")
    if gpu_limit is None:
        reason = "its nodes are priced in the stacks whose pods run there"
        return _unpriced(resource, context, "elsewhere", reason)
    requirements = _requirements(resource)
    types = requirements["node.kubernetes.io/instance-type"]
    capacities = requirements.get("karpenter.sh/capacity-type", ["on-demand"])
    usage = context.usage.platform
    nodes = min(max(usage.gpu_nodes_average, 0), float(gpu_limit))  # one GPU a node
    on_demand_share = usage.gpu_on_demand_share if "on-demand" in capacities else 0.0
    if "spot" not in capacities:
        on_demand_share = 1.0
    cheapest_spot = min((context.prices.ec2_hour(t, "spot") for t in types), key=_hourly)
    cheapest_on_demand = min((context.prices.ec2_hour(t, "on-demand") for t in types), key=_hourly)
    parts = [("spot", cheapest_spot, 1 - on_demand_share)] if on_demand_share < 1 else []
    if on_demand_share > 0:
        parts.append(("on-demand", cheapest_on_demand, on_demand_share))
    lines = []
    for capacity, price, share in parts:
        instance_type = price.key.split("/")[1]
        lines.append(
            context.charge(
                resource,
                "EC2",
                f"GPU {instance_type} {capacity} node-hours",
                nodes * share,
                price,
                f"{usage.gpu_nodes_average:g} nodes on average, {share:.0%} {capacity} "
                f"(pool 0-{gpu_limit} nodes; cheapest of {', '.join(types)})",
                bounds=(0.0, round(float(gpu_limit) * price.price * HOURS_PER_MONTH * share, 2)),
            )
        )
    node_class = _node_class(context, spec["template"]["spec"]["nodeClassRef"]["name"])
    if node_class is not None:
        volume = node_class["inputs"]["spec"]["blockDeviceMappings"][0]["ebs"]
        size = _gibibytes(volume["volumeSize"])
        lines.append(_root_volumes(resource, context, nodes, size, 0, float(gpu_limit)))
    return lines


def _node_class(context: Context, name: str) -> Resource | None:
    for node_class in context.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        if node_class["inputs"]["metadata"]["name"] == name:
            return node_class
    return None


def _root_volumes(
    resource: Resource, context: Context, nodes: float, size_gb: float, low: float, high: float
) -> Line:
    price = context.prices.get("ebs/gp3-storage")
    return context.charge(
        resource,
        "EC2",
        f"gp3 root volumes ({size_gb:g} GB a node)",
        nodes * size_gb,
        price,
        f"{nodes:g} nodes x {size_gb:g} GB",
        bounds=_bounds(low * size_gb, high * size_gb, price.price),
    )


def app_release(resource: Resource, context: Context) -> list[Line] | Unpriced:
    inputs = resource["inputs"]
    if inputs.get("chart") != APP_CHART:
        return _unpriced(resource, context, "free", "an add-on on the system nodes")
    values = deep_merge(
        deep_merge(_chart_defaults(), profile_values(context.stack)), inputs.get("values") or {}
    )
    api = values["api"]
    pods_per_replica = len(api["services"])
    replicas = float(api["replicas"])
    most = float(api["autoscaling"]["maxReplicas"]) if api["autoscaling"]["enabled"] else replicas
    average = context.usage.environment(context.stack).api_replicas_average
    average = replicas if average is None else min(max(average, replicas), most)
    requests = api["resources"]["requests"]
    cpu, memory = _cpu(requests["cpu"]), _gibibytes(requests["memory"])
    lines = [
        _general_pool(
            resource,
            context,
            f"API pods ({pods_per_replica} services x {average:g} replicas)",
            pods_per_replica * average,
            cpu,
            memory,
            (pods_per_replica * replicas, pods_per_replica * most),
        )
    ]
    worker = values["worker"]
    lines.extend(_gpu_workers(resource, context, worker["minReplicas"], worker["maxReplicas"]))
    return lines


def _gpu_workers(resource: Resource, context: Context, low: int, high: int) -> list[Line]:
    """The KEDA workers' nodes are the platform's GPU pool, priced there from the average
    node count; the line here carries their bounds at the pool's cheapest Spot price."""
    pools = [
        pool
        for pool in context.of_type("kubernetes:karpenter.sh/v1:NodePool", context.platform)
        if "nvidia.com/gpu" in pool["inputs"]["spec"].get("limits", {})
    ]
    if not pools:
        return []
    requirements = _requirements(pools[0])
    types = requirements["node.kubernetes.io/instance-type"]
    price = min((context.prices.ec2_hour(t, "spot") for t in types), key=_hourly)
    return [
        context.charge(
            resource,
            "EC2",
            f"GPU workers (KEDA {low}-{high}) on the platform's GPU pool",
            0,
            price,
            "priced in the platform stack from the average GPU node count",
            bounds=_bounds(low, high, price.price * HOURS_PER_MONTH),
        )
    ]


def stateful_set(resource: Resource, context: Context) -> list[Line]:
    spec = resource["inputs"]["spec"]
    replicas = float(spec.get("replicas", 1))
    containers = spec["template"]["spec"]["containers"]
    cpu = sum(_cpu(c.get("resources", {}).get("requests", {}).get("cpu", "0")) for c in containers)
    memory = sum(
        _gibibytes(c.get("resources", {}).get("requests", {}).get("memory", "0"))
        for c in containers
    )
    name = resource["inputs"]["metadata"]["name"]
    lines = [
        _general_pool(
            resource, context, f"{name} pods", replicas, cpu, memory, (replicas, replicas)
        )
    ]
    claims = sum(
        _gibibytes(claim["spec"]["resources"]["requests"]["storage"])
        for claim in spec.get("volumeClaimTemplates", [])
    )
    if claims:
        price = context.prices.get("ebs/gp3-storage")
        lines.append(
            context.charge(
                resource, "EC2", "gp3 volumes", replicas * claims, price, f"{claims:g} GB a pod"
            )
        )
    return lines


def _general_pool(
    resource: Resource,
    context: Context,
    what: str,
    pods: float,
    cpu: float,
    memory: float,
    pod_bounds: tuple[float, float],
) -> Line:
    """Pods' requests priced as a share of the general pool's nodes (Kubecost-style)."""
    pools = [
        pool
        for pool in context.of_type("kubernetes:karpenter.sh/v1:NodePool", context.platform)
        if "nvidia.com/gpu" not in pool["inputs"]["spec"].get("limits", {})
    ]
    if not pools:
        raise LookupError("no general node pool in the platform to run these pods")
    requirements = _requirements(pools[0])
    arch = requirements.get("kubernetes.io/arch", ["amd64"])[0]
    spot = "spot" in requirements.get("karpenter.sh/capacity-type", [])
    capacity = "spot" if spot else "on-demand"
    usage = context.usage.platform
    instance_type = usage.general_pool_instance_type[arch]
    vcpus, gib = INSTANCE_SPECS[instance_type]
    price = context.prices.ec2_hour(instance_type, capacity)
    per_pod = max(cpu / vcpus, memory / gib) / usage.general_pool_packing
    return context.charge(
        resource,
        "EC2",
        f"{what} on the general pool ({instance_type} {capacity})",
        pods * per_pod,
        price,
        f"{pods:g} pods x {cpu:g} vCPU / {memory:g} GiB requested, "
        f"{usage.general_pool_packing:.0%} packed",
        bounds=_bounds(
            pod_bounds[0] * per_pod, pod_bounds[1] * per_pod, price.price * HOURS_PER_MONTH
        ),
    )


# --- databases and caches ----------------------------------------------------------------


def aurora_instance(resource: Resource, context: Context) -> list[Line]:
    inputs = resource["inputs"]
    if inputs.get("instanceClass") != "db.serverless":
        raise LookupError(f"instance class {inputs.get('instanceClass')} is not in the table")
    cluster = context.by_id(inputs["clusterIdentifier"])
    scaling = (cluster or {}).get("inputs", {}).get("serverlessv2ScalingConfiguration", {})
    low, high = float(scaling.get("minCapacity", 0.5)), float(scaling.get("maxCapacity", 256))
    average = min(max(context.usage.platform.aurora_acu_average, low), high)
    price = context.prices.get("aurora-postgresql/serverless-v2-acu-hour")
    return [
        context.charge(
            resource,
            "RDS",
            "Serverless v2 ACU-hours",
            average,
            price,
            f"{average:g} ACU on average ({low:g}-{high:g} configured)",
            bounds=_bounds(low, high, price.price * HOURS_PER_MONTH),
        )
    ]


def aurora_cluster(resource: Resource, context: Context) -> list[Line]:
    usage = context.usage.platform
    storage = context.prices.get("aurora/storage-standard")
    io = context.prices.get("aurora/io-requests-standard")
    lines = [
        context.charge(
            resource,
            "RDS",
            "cluster storage",
            usage.aurora_storage_gb,
            storage,
            f"{usage.aurora_storage_gb:g} GB (backups within the free 1x cluster size)",
        ),
        context.charge(
            resource, "RDS", "I/O requests", usage.aurora_io_millions, io, "standard configuration"
        ),
    ]
    if resource["inputs"].get("manageMasterUserPassword"):
        secret = context.prices.get("secretsmanager/secret")
        lines.append(
            context.charge(
                resource, "Secrets Manager", "RDS-managed master secret", 1, secret, "one secret"
            )
        )
    return lines


def cache_group(resource: Resource, context: Context) -> list[Line]:
    inputs = resource["inputs"]
    engine = CACHE_ENGINES.get(inputs.get("engine", "redis"), inputs.get("engine", "?"))
    nodes = inputs.get("numCacheClusters") or (
        (1 + inputs.get("replicasPerNodeGroup", 0)) * inputs.get("numNodeGroups", 1)
    )
    price = context.prices.get(f"elasticache/{engine}/{inputs['nodeType']}")
    failover = (
        "automatic failover, Multi-AZ" if inputs.get("automaticFailoverEnabled") else "single node"
    )
    return [
        context.charge(
            resource,
            "ElastiCache",
            f"{engine} {inputs['nodeType']} node-hours",
            nodes,
            price,
            f"{nodes} nodes ({failover}); snapshots within the free one per cluster",
        )
    ]


# --- network ------------------------------------------------------------------------------


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
        return _unpriced(resource, context, "free", "gateway endpoints are free")
    zones = len(inputs.get("subnetIds") or []) or 1
    price = context.prices.get("vpc/interface-endpoint-hour-per-az")
    item = "interface endpoint AZ-hours"
    return [context.charge(resource, "VPC", item, zones, price, f"{zones} AZs")]


def load_balancer(resource: Resource, context: Context) -> list[Line] | Unpriced:
    spec = resource["inputs"]["spec"]
    group = (spec.get("group") or {}).get("name") or resource["name"]
    if group in context.seen_load_balancers:
        return _unpriced(resource, context, "elsewhere", f"shares the ALB of group {group}")
    context.seen_load_balancers.add(group)
    lcu = context.usage.environment(context.stack).alb_lcu_average
    return [
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


# --- storage ------------------------------------------------------------------------------


def file_system(resource: Resource, context: Context) -> list[Line]:
    usage = context.usage.platform
    charges = (
        ("Standard storage", usage.efs_standard_gb, "efs/standard-storage"),
        ("Infrequent Access storage", usage.efs_infrequent_gb, "efs/infrequent-access-storage"),
        ("Elastic throughput reads", usage.efs_read_gb, "efs/elastic-throughput-read"),
        ("Elastic throughput writes", usage.efs_write_gb, "efs/elastic-throughput-write"),
    )
    return [
        context.charge(resource, "EFS", item, amount, key, f"{amount:g} GB")
        for item, amount, key in charges
    ]


def bucket(resource: Resource, context: Context) -> list[Line]:
    role = context.role(resource)
    if role == "images":
        environment = context.usage.environment(context.stack)
        stored, months = environment.images_gb, environment.images_accrual_months
    else:
        stored, months = context.usage.platform.buckets_gb.get(role, 0.0), 12.0
    lifecycle = next(
        (
            rules
            for rules in context.of_type(
                "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
            )
            if rules["inputs"]["bucket"] == resource["id"]
        ),
        None,
    )
    shares = storage_class_shares(lifecycle["inputs"]["rules"] if lifecycle else [], months)
    return [
        context.charge(
            resource,
            "S3",
            f"{storage_class} storage",
            stored * share,
            STORAGE_CLASS_PRICES[storage_class],
            f"{share:.0%} of {stored:g} GB accrued evenly over {months:g} months, by lifecycle",
        )
        for storage_class, share in shares.items()
    ]


def storage_class_shares(rules: Iterable[Mapping[str, Any]], months: float) -> dict[str, float]:
    """How much of a bucket sits in each storage class when objects accrue evenly over
    `months`, given its lifecycle rules (transitions and expiry of the whole bucket)."""
    span = months * DAYS_PER_MONTH
    transitions: list[tuple[float, str]] = [(0.0, "STANDARD")]
    for rule in rules:
        if rule.get("status") != "Enabled" or (rule.get("filter") or {}).get("prefix"):
            continue
        for transition in rule.get("transitions") or []:
            transitions.append((float(transition["days"]), transition["storageClass"]))
        expiration = (rule.get("expiration") or {}).get("days")
        if expiration:
            span = min(span, float(expiration))
    transitions.sort()
    shares: dict[str, float] = {}
    for index, (start, storage_class) in enumerate(transitions):
        end = transitions[index + 1][0] if index + 1 < len(transitions) else span
        share = max(0.0, min(end, span) - min(start, span)) / span
        if share > 0:
            shares[storage_class] = shares.get(storage_class, 0.0) + share
    return shares


def repository(resource: Resource, context: Context) -> list[Line]:
    repositories = len(context.of_type(resource["type"]))
    stored = context.usage.platform.ecr_gb / repositories
    price = context.prices.get("ecr/storage")
    return [context.charge(resource, "ECR", "image storage", stored, price, f"{stored:g} GB")]


def log_group(resource: Resource, context: Context) -> list[Line]:
    usage = context.usage.platform
    ingested = usage.logs_ingested_gb.get(context.role(resource), usage.logs_ingested_gb_default)
    retention = resource["inputs"].get("retentionInDays")
    kept_days = min(float(retention), 365.0) if retention else 365.0
    stored = ingested * kept_days / DAYS_PER_MONTH
    return [
        context.charge(
            resource,
            "CloudWatch",
            "logs ingested",
            ingested,
            "cloudwatch/logs-ingestion",
            f"{ingested:g} GB a month",
        ),
        context.charge(
            resource,
            "CloudWatch",
            "logs stored",
            stored,
            "cloudwatch/logs-storage",
            f"{retention or 'never-expiring (a year counted)'} days retained, uncompressed",
        ),
    ]


def metric_alarm(resource: Resource, context: Context) -> list[Line]:
    metrics = len(resource["inputs"].get("metricQueries") or []) or 1
    return [
        context.charge(
            resource,
            "CloudWatch",
            "alarm metrics (standard resolution)",
            metrics,
            "cloudwatch/alarm-standard-resolution",
            f"{metrics} metric(s)",
        )
    ]


def backup_plan(resource: Resource, context: Context) -> list[Line]:
    raise LookupError("AWS Backup storage is not in the price table")


# --- security -----------------------------------------------------------------------------


def secret(resource: Resource, context: Context) -> list[Line]:
    price = context.prices.get("secretsmanager/secret")
    return [context.charge(resource, "Secrets Manager", "secret", 1, price, "one secret")]


def kms_key(resource: Resource, context: Context) -> list[Line]:
    price = context.prices.get("kms/customer-managed-key")
    return [context.charge(resource, "KMS", "customer-managed key", 1, price, "one key")]


RULES: dict[str, Callable[[Resource, Context], list[Line] | Unpriced]] = {
    "eks:index:Cluster": eks_cluster,
    "aws:ec2/instance:Instance": instance,
    "aws:cloudwatch/metricAlarm:MetricAlarm": metric_alarm,
    "aws:eks/nodeGroup:NodeGroup": node_group,
    "kubernetes:karpenter.sh/v1:NodePool": node_pool,
    "kubernetes:helm.sh/v3:Release": app_release,
    "kubernetes:apps/v1:StatefulSet": stateful_set,
    "aws:rds/clusterInstance:ClusterInstance": aurora_instance,
    "aws:rds/cluster:Cluster": aurora_cluster,
    "aws:elasticache/replicationGroup:ReplicationGroup": cache_group,
    "aws:ec2/natGateway:NatGateway": nat_gateway,
    "aws:ec2/eip:Eip": elastic_ip,
    "aws:ec2/vpc:Vpc": vpc,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams": load_balancer,
    "aws:cloudfront/distribution:Distribution": cloudfront,
    "aws:wafv2/webAcl:WebAcl": web_acl,
    "aws:route53/zone:Zone": hosted_zone,
    "aws:efs/fileSystem:FileSystem": file_system,
    "aws:s3/bucket:Bucket": bucket,
    "aws:ecr/repository:Repository": repository,
    "aws:cloudwatch/logGroup:LogGroup": log_group,
    "aws:backup/plan:Plan": backup_plan,
    "aws:secretsmanager/secret:Secret": secret,
    "aws:kms/key:Key": kms_key,
}


# --- helpers ------------------------------------------------------------------------------


def _requirements(pool: Resource) -> dict[str, list[str]]:
    requirements = pool["inputs"]["spec"]["template"]["spec"]["requirements"]
    return {r["key"]: r["values"] for r in requirements}


def _hourly(price: Price) -> float:
    return price.price


def _bounds(low: float, high: float, monthly_each: float) -> tuple[float, float]:
    return (round(low * monthly_each, 2), round(high * monthly_each, 2))


def _chart_defaults() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(Path(CHART_DIR, "values.yaml").read_text())
    return values


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_BINARY = {"": 1 / 2**30, "Ki": 2**-20, "Mi": 2**-10, "Gi": 1.0, "Ti": 2**10}
_DECIMAL = {"k": 1e3 / 2**30, "M": 1e6 / 2**30, "G": 1e9 / 2**30, "T": 1e12 / 2**30}


def _cpu(quantity: str | float) -> float:
    """A Kubernetes CPU quantity in cores ("250m" is 0.25)."""
    text = str(quantity)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _gibibytes(quantity: str | float) -> float:
    """A Kubernetes memory or storage quantity in GiB ("384Mi" is 0.375)."""
    match = _QUANTITY.match(str(quantity))
    if match is None:
        raise LookupError(f"{quantity!r} is not a quantity")
    number, suffix = float(match.group(1)), match.group(2)
    factor = _BINARY.get(suffix, _DECIMAL.get(suffix))
    if factor is None:
        raise LookupError(f"{quantity!r} has an unknown unit")
    return number * factor
