"""GuardDuty: the detector's foundational sources (CloudTrail management events, VPC flow
and DNS logs) and each enabled protection feature, metered by the usage file."""

from __future__ import annotations

from tools.cost.lines import Line, Unpriced
from tools.cost.rules import data
from tools.cost.rules.context import Context, Resource, unpriced

SERVICE = "GuardDuty"


def detector(resource: Resource, context: Context) -> list[Line]:
    usage = context.usage.platform.guard_duty
    return [
        context.charge(
            resource,
            SERVICE,
            "CloudTrail management events analysed",
            usage.cloudtrail_events_millions,
            "guardduty/cloudtrail-management-events",
            f"{usage.cloudtrail_events_millions:g} million events",
        ),
        context.charge(
            resource,
            SERVICE,
            "VPC flow and DNS logs analysed",
            usage.flow_dns_logs_gb,
            "guardduty/vpc-flow-dns-logs",
            f"{usage.flow_dns_logs_gb:g} GB",
        ),
    ]


def feature(resource: Resource, context: Context) -> list[Line] | Unpriced:
    inputs = resource["inputs"]
    if inputs.get("status") != "ENABLED":
        return unpriced(resource, context, "free", "a disabled feature meters nothing")
    usage = context.usage.platform
    guard = usage.guard_duty
    name = inputs["name"]
    if name == "RDS_LOGIN_EVENTS":
        instances = context.of_type("aws:rds/clusterInstance:ClusterInstance")
        # An ACU-hour price: x 730 hours of each instance's average, as priced on RDS.
        acus = [data.acu_average(instance, context) for instance in instances]
        return [
            context.charge(
                resource,
                SERVICE,
                "RDS login activity (ACU-hours)",
                sum(acus),
                "guardduty/rds-login-events",
                f"{len(acus)} instances: " + " + ".join(f"{acu:g}" for acu in acus) + " ACU",
            )
        ]
    metered = {
        "EKS_AUDIT_LOGS": (
            "EKS audit log events analysed",
            guard.eks_audit_events_millions,
            "guardduty/eks-audit-logs",
            "million events",
        ),
        "S3_DATA_EVENTS": (
            "S3 data events analysed",
            guard.s3_data_events_millions,
            "guardduty/s3-data-events",
            "million events",
        ),
        "EBS_MALWARE_PROTECTION": (
            "EBS volume data scanned",
            guard.ebs_scanned_gb,
            "guardduty/ebs-malware-scan",
            "GB",
        ),
        "RUNTIME_MONITORING": (
            "runtime monitoring (vCPUs monitored)",
            guard.runtime_vcpus_average,
            "guardduty/runtime-monitoring-vcpu",
            "vCPUs on average",
        ),
    }
    if name not in metered:
        raise LookupError(f"no price for GuardDuty feature {name}")
    item, quantity, key, unit = metered[name]
    return [context.charge(resource, SERVICE, item, quantity, key, f"{quantity:g} {unit}")]
