"""What already holds and must keep holding (issue 12's baseline): a private EKS endpoint,
IMDSv2 everywhere, encryption at rest and in transit for every data store, S3 public
access blocks and TLS-only access, KMS rotation, RDS deletion protection and backups."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from infra.config import protected_by_name
from policy.documents import as_list, documents, known, mandatory, stack_of

PUBLIC_ACCESS_BLOCKS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)
ENCRYPTED_AT_REST: dict[str, str] = {
    "aws:rds/cluster:Cluster": "storageEncrypted",
    "aws:efs/fileSystem:FileSystem": "encrypted",
    "aws:elasticache/replicationGroup:ReplicationGroup": "atRestEncryptionEnabled",
}
INTERNET = {"0.0.0.0/0", "::/0"}


def eks_endpoint_is_private(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """The API server answers in the VPC; publicly only for named ranges."""
    if args.resource_type not in ("eks:index:Cluster", "aws:eks/cluster:Cluster"):
        return
    props = args.props.get("vpcConfig") or args.props
    if props.get("endpointPrivateAccess") is False:
        report_violation(f"{args.name} has no private endpoint", None)
    cidrs = set(as_list(props.get("publicAccessCidrs")))
    if props.get("endpointPublicAccess") and (not cidrs or cidrs & INTERNET):
        report_violation(f"{args.name} answers the whole internet", None)


def launch_templates_require_imdsv2(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type == "aws:ec2/launchTemplate:LaunchTemplate":
        tokens = (args.props.get("metadataOptions") or {}).get("httpTokens")
        if tokens is None or (known(tokens) and tokens != "required"):
            report_violation(f"{args.name} allows IMDSv1", None)


def node_classes_require_imdsv2(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type == "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass":
        options = (args.props.get("spec") or {}).get("metadataOptions") or {}
        if options.get("httpTokens") != "required" or options.get("httpPutResponseHopLimit") != 1:
            report_violation(f"{args.name} lets pods reach IMDS or allows IMDSv1", None)


def data_stores_encrypted_at_rest(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    key = ENCRYPTED_AT_REST.get(args.resource_type)
    if key is not None and args.props.get(key) is not True:
        report_violation(f"{args.name} is not encrypted at rest ({key})", None)
    if args.resource_type == "aws:sqs/queue:Queue" and not (
        args.props.get("sqsManagedSseEnabled") or args.props.get("kmsMasterKeyId")
    ):
        report_violation(f"{args.name} is not encrypted at rest", None)


def redis_requires_tls(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != "aws:elasticache/replicationGroup:ReplicationGroup":
        return
    mode = args.props.get("transitEncryptionMode")
    if args.props.get("transitEncryptionEnabled") is not True or mode not in (None, "required"):
        report_violation(f"{args.name} accepts plain-text connections", None)


def buckets_block_public_access(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    if args.resource_type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
        open_ = [key for key in PUBLIC_ACCESS_BLOCKS if args.props.get(key) is not True]
        if open_:
            report_violation(f"{args.name} leaves {open_} off", None)


def buckets_require_tls(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type != "aws:s3/bucketPolicy:BucketPolicy":
        return
    for document in documents(args.resource_type, args.props):
        if not any(_denies_plain_transport(s) for s in document.statements):
            report_violation(f"{args.name} does not refuse plain HTTP", None)


def _denies_plain_transport(statement: dict[str, Any]) -> bool:
    secure = ((statement.get("Condition") or {}).get("Bool") or {}).get("aws:SecureTransport")
    return statement.get("Effect") == "Deny" and str(secure).lower() == "false"


def kms_keys_rotate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == "aws:kms/key:Key" and args.props.get("enableKeyRotation") is not True:
        report_violation(f"{args.name} never rotates", None)


def databases_keep_backups(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    if args.resource_type == "aws:rds/cluster:Cluster":
        days = args.props.get("backupRetentionPeriod")
        if isinstance(days, int | float) and days < 1:
            report_violation(f"{args.name} keeps no automated backups", None)


def databases_resist_deletion(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    protected_stack = protected_by_name(stack_of(args.urn))
    unprotected = args.props.get("deletionProtection") is not True
    if args.resource_type == "aws:rds/cluster:Cluster" and protected_stack and unprotected:
        report_violation(f"{args.name} can be deleted (deletionProtection off)", None)


BASELINE_POLICIES: list[ResourceValidationPolicy] = [
    mandatory(
        "eks-endpoint-is-private",
        "The EKS API is private or CIDR-limited.",
        eks_endpoint_is_private,
    ),
    mandatory(
        "launch-templates-require-imdsv2",
        "Launch templates require IMDSv2.",
        launch_templates_require_imdsv2,
    ),
    mandatory(
        "node-classes-require-imdsv2",
        "EC2NodeClasses require IMDSv2, hop limit 1.",
        node_classes_require_imdsv2,
    ),
    mandatory(
        "data-stores-encrypted-at-rest",
        "Aurora, EFS, ElastiCache and SQS encrypt at rest.",
        data_stores_encrypted_at_rest,
    ),
    mandatory("redis-requires-tls", "ElastiCache requires TLS.", redis_requires_tls),
    mandatory(
        "buckets-block-public-access",
        "Bucket public access blocks are all on.",
        buckets_block_public_access,
    ),
    mandatory("buckets-require-tls", "Bucket policies refuse plain HTTP.", buckets_require_tls),
    mandatory("kms-keys-rotate", "KMS keys rotate.", kms_keys_rotate),
    mandatory("databases-keep-backups", "Aurora keeps automated backups.", databases_keep_backups),
    mandatory(
        "databases-resist-deletion",
        "Aurora has deletion protection in prod and shared.",
        databases_resist_deletion,
    ),
]
