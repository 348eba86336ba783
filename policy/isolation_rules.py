"""Tenant isolation (issue 12): one rule per guarantee that a single resource can show.
Guarantees that need several resources at once are stack rules (policy/stack_rules.py)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from infra.config import Profile, profile_by_name, protected_by_name
from policy.documents import (
    as_list,
    documents,
    grants,
    known,
    mandatory,
    reaches_in_a_partition,
    stack_of,
    strings,
    types_of,
)

# The one component that may hold Aurora's master secret (components/data/schema_owners.py).
MASTER_SECRET_HOLDER = "pingvas:data:SchemaOwners"  # noqa: S105 (a type token)
MASTER_SECRET_MARKER = ":secret:rds!"  # noqa: S105 (an ARN part)
SAMPLE_MASTER_SECRET = "arn:aws:secretsmanager:us-east-1:111111111111:secret:rds!cluster-x"  # noqa: S105
SECRET_READS = ("secretsmanager:GetSecretValue",)
POD_IDENTITY = "pods.eks.amazonaws.com"
BINDING_TAGS = (
    "aws:RequestTag/eks-cluster-arn",
    "aws:RequestTag/kubernetes-namespace",
    "aws:RequestTag/kubernetes-service-account",
)
# Services that assume roles without a source account to name (instance profiles).
SOURCELESS_SERVICES = frozenset({"ec2.amazonaws.com"})
SOURCE_KEYS = ("aws:SourceArn", "aws:SourceAccount", "aws:SourceOrgID")
# A key policy's data-key grant to publishing services (SNS encryption): not every
# publisher sends a source to KMS; the topic's own policy names the source.
DATA_KEY_ACTIONS = frozenset({"kms:GenerateDataKey*", "kms:Decrypt"})
# Actions that only read, though their names do not say so.
QUERY_ACTIONS = frozenset({"logs:StartQuery", "logs:StopQuery", "logs:FilterLogEvents"})
# Budgets reads a budget through `budgets:ViewBudget` (its DescribeBudget API).
READ_PREFIXES = ("Describe", "Get", "List", "View")
STATEFUL_TYPES = frozenset(
    {
        "aws:rds/cluster:Cluster",
        "aws:efs/fileSystem:FileSystem",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
        "aws:kms/key:Key",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:elasticache/serverlessCache:ServerlessCache",
    }
)
DATA_STORE_PORTS = frozenset({5432, 6379, 2049})
# A subnet at most: egress to data stores names their subnets, not the VPC.
WIDEST_DATA_STORE_PREFIX = 20


def _type(args: ResourceValidationArgs) -> str:
    return args.resource_type


def environment_stacks_never_hold_the_master_secret(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 1: Aurora's master secret (`rds!…`) is named by, and readable through,
    the platform's schema-owner bootstrap only."""
    lineage = types_of(args.urn) + types_of(args.opts.parent or "")
    if MASTER_SECRET_HOLDER in lineage or _type(args) == "aws:rds/cluster:Cluster":
        return
    if any(MASTER_SECRET_MARKER in value for value in strings(args.props)):
        report_violation(f"{args.name} names the Aurora master secret", None)
        return
    for document in documents(_type(args), args.props):
        for statement in document.statements:
            if any(grants(statement, a) for a in SECRET_READS) and reaches_in_a_partition(
                statement, [SAMPLE_MASTER_SECRET]
            ):
                report_violation(
                    f"{args.name} ({document.key}) can read Aurora's master secret", None
                )


def ephemeral_stacks_never_touch_aurora(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 1: a pr-<N> stack has its own PostgreSQL; nothing in it names Aurora."""
    if profile_by_name(stack_of(args.urn)) is not Profile.EPHEMERAL:
        return
    if _type(args).startswith("aws:rds/") or any(
        ".rds.amazonaws.com" in value or MASTER_SECRET_MARKER in value
        for value in strings(args.props)
    ):
        report_violation(f"{args.name}: an ephemeral stack touches Aurora", None)


def secret_stores_are_namespaced(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 2: no cluster-wide store; a store assumes its namespace's role."""
    kind = _type(args).rsplit(":", 1)[-1]
    if not _type(args).startswith("kubernetes:external-secrets.io/"):
        return
    if kind == "ClusterSecretStore":
        report_violation(f"{args.name} is a cluster-wide secret store", None)
    elif kind == "SecretStore":
        aws = (args.props.get("spec") or {}).get("provider", {}).get("aws") or {}
        namespace = (args.props.get("metadata") or {}).get("namespace")
        if not known(aws.get("role")) or aws.get("externalID") != namespace:
            report_violation(
                f"{args.name} must assume its own role with its namespace as external id", None
            )


def secrets_stay_in_their_environment(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 2: no policy reads the secrets of every environment at once."""
    samples = [
        f"arn:aws:secretsmanager:us-east-1:111111111111:secret:pingvas-{env}-app-x"
        for env in ("dev", "prod")
    ]
    for document in documents(_type(args), args.props):
        for statement in document.statements:
            if any(grants(statement, a) for a in SECRET_READS) and reaches_in_a_partition(
                statement, samples
            ):
                report_violation(f"{args.name} reads the secrets of every environment", None)


def pod_identity_trust_is_bound(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 3: a Pod Identity role trusts only its cluster, namespace and account."""
    for document in documents(_type(args), args.props):
        if not document.is_trust:
            continue
        for statement in document.statements:
            services = as_list((statement.get("Principal") or {}).get("Service"))
            if POD_IDENTITY not in services:
                continue
            equals = (statement.get("Condition") or {}).get("StringEquals") or {}
            missing = [key for key in BINDING_TAGS if not known(equals.get(key))]
            if missing:
                report_violation(f"{args.name} trusts Pod Identity without {missing}", None)


def environment_quotas_forbid_external_services(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantees 4-5: an environment's quota admits no LoadBalancer or NodePort Service."""
    if _type(args) != "kubernetes:core/v1:ResourceQuota":
        return
    hard = (args.props.get("spec") or {}).get("hard") or {}
    if "requests.cpu" not in hard:
        return  # not the namespace's main quota
    for key in ("services.loadbalancers", "services.nodeports"):
        if str(hard.get(key)) != "0":
            report_violation(f"{args.name} lets the namespace open {key}", None)


def services_stay_behind_the_alb(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 5: no Service of type LoadBalancer or NodePort bypasses the WAF."""
    if _type(args) == "kubernetes:core/v1:Service":
        kind = (args.props.get("spec") or {}).get("type")
        if kind in ("LoadBalancer", "NodePort"):
            report_violation(f"{args.name} is a {kind} Service, outside the WAF", None)


def ingress_classes_carry_the_waf(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 5: every ALB an environment gets has the WAF and one namespace."""
    if _type(args) != "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams":
        return
    spec = args.props.get("spec") or {}
    if not spec.get("wafv2AclArn") or not spec.get("namespaceSelector"):
        report_violation(f"{args.name}: an ALB without the WAF or for any namespace", None)


def no_unconditioned_writes_on_everything(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 5: a write action on `*` carries a condition (tags, service, account)."""
    for document in documents(_type(args), args.props):
        if document.is_trust:
            continue
        for statement in document.statements:
            if statement.get("Effect") != "Allow" or statement.get("Condition"):
                continue
            if "*" not in as_list(statement.get("Resource")) or "Principal" in statement:
                continue
            writes = [
                action
                for action in as_list(statement.get("Action"))
                if isinstance(action, str)
                and not action.split(":", 1)[-1].startswith(READ_PREFIXES)
                and action not in QUERY_ACTIONS
            ]
            if writes:
                report_violation(f"{args.name} writes {writes} on * without a condition", None)


def service_principals_name_their_source(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 6: a service trusted by a role or a resource policy acts for this
    account (or named resource) only: the confused-deputy guard."""
    for document in documents(_type(args), args.props):
        for statement in document.statements:
            if statement.get("Effect") != "Allow":
                continue
            services = set(as_list((statement.get("Principal") or {}).get("Service")))
            services -= SOURCELESS_SERVICES | {POD_IDENTITY} if document.is_trust else set()
            data_keys_only = set(as_list(statement.get("Action"))) <= DATA_KEY_ACTIONS
            if not services or (_type(args) == "aws:kms/key:Key" and data_keys_only):
                continue
            conditions = statement.get("Condition") or {}
            # Condition keys are case-insensitive.
            named = {key.lower() for block in conditions.values() for key in (block or {})}
            if not named & {key.lower() for key in SOURCE_KEYS}:
                report_violation(
                    f"{args.name} ({document.key}) trusts {sorted(services)} from anywhere", None
                )


def namespaces_carry_pod_security(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 7: every namespace the program creates enforces a Pod Security level."""
    if _type(args) == "kubernetes:core/v1:Namespace":
        labels = (args.props.get("metadata") or {}).get("labels") or {}
        if labels.get("pod-security.kubernetes.io/enforce") not in (
            "restricted",
            "baseline",
            "privileged",
        ):
            report_violation(f"{args.name} enforces no Pod Security level", None)


def helm_releases_create_no_namespace(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 7: namespaces are the program's, with labels and policies, not Helm's."""
    if _type(args) == "kubernetes:helm.sh/v3:Release" and args.props.get("createNamespace"):
        report_violation(f"{args.name} lets Helm create its namespace", None)


def efs_policies_allow_mounts(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 8: a file-system policy with only Deny refuses every client."""
    if _type(args) != "aws:efs/fileSystemPolicy:FileSystemPolicy":
        return
    for document in documents(_type(args), args.props):
        if not any(grants(s, "elasticfilesystem:ClientMount") for s in document.statements):
            report_violation(f"{args.name} lets no client mount", None)


def data_store_egress_names_subnets(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 8: egress to data-store ports goes to the data subnets, not the VPC."""
    if _type(args) != "kubernetes:networking.k8s.io/v1:NetworkPolicy":
        return
    for rule in as_list((args.props.get("spec") or {}).get("egress")):
        ports = {p.get("port") for p in as_list(rule.get("ports")) if isinstance(p, Mapping)}
        if not ports & DATA_STORE_PORTS:
            continue
        for peer in as_list(rule.get("to")):
            cidr = (peer.get("ipBlock") or {}).get("cidr") if isinstance(peer, Mapping) else None
            if known(cidr) and _prefix(cidr) < WIDEST_DATA_STORE_PREFIX:
                report_violation(f"{args.name} opens data-store ports to all of {cidr}", None)


def _prefix(cidr: Any) -> int:
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen
    except ValueError:
        return 32


def stateful_resources_are_protected(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 9: in prod and on the platform, data cannot be deleted by an `up`."""
    protected_stack = protected_by_name(stack_of(args.urn))
    if _type(args) in STATEFUL_TYPES and protected_stack and not args.opts.protect:
        report_violation(f"{args.name} holds data but is not protected", None)


def backup_vaults_keep_recovery_points(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 9: nobody deletes a recovery point before its lifecycle does."""
    if _type(args) != "aws:backup/vaultPolicy:VaultPolicy":
        return
    for document in documents(_type(args), args.props):
        denied = any(
            s.get("Effect") == "Deny" and "backup:DeleteRecoveryPoint" in as_list(s.get("Action"))
            for s in document.statements
        )
        if not denied:
            report_violation(f"{args.name} does not deny backup:DeleteRecoveryPoint", None)


def no_object_version_deletes(
    args: ResourceValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 9: no role erases object history, except in ephemeral stacks' own buckets,
    which `pulumi destroy` empties (force-destroy) so a PR leaves nothing behind."""
    for document in documents(_type(args), args.props):
        if document.is_trust:
            continue
        for statement in document.statements:
            if "Principal" in statement or not grants(statement, "s3:DeleteObjectVersion"):
                continue
            resources = as_list(statement.get("Resource"))
            if not resources or not all(_is_ephemeral_bucket(r) for r in resources):
                report_violation(f"{args.name} may delete object versions", None)


def _is_ephemeral_bucket(resource: Any) -> bool:
    # Only pr-<N> stacks have names starting `pr-` (infra/stack_names.py); the pr deploy
    # role names its session's own, `pr-${aws:PrincipalTag/pr}`.
    pattern = r"arn:aws[a-z-]*:s3:::pingvas-pr-[^/]*(/\*)?"  # any partition
    if not isinstance(resource, str):
        return False
    return re.fullmatch(pattern, resource.replace("${aws:PrincipalTag/pr}", "N")) is not None


ISOLATION_POLICIES: list[ResourceValidationPolicy] = [
    mandatory(
        "environment-stacks-never-hold-the-master-secret",
        "Only the platform's schema-owner bootstrap names or reads Aurora's master secret.",
        environment_stacks_never_hold_the_master_secret,
    ),
    mandatory(
        "ephemeral-stacks-never-touch-aurora",
        "pr-<N> stacks name no Aurora endpoint, secret or RDS resource.",
        ephemeral_stacks_never_touch_aurora,
    ),
    mandatory(
        "secret-stores-are-namespaced",
        "No ClusterSecretStore; each SecretStore assumes its namespace's role.",
        secret_stores_are_namespaced,
    ),
    mandatory(
        "secrets-stay-in-their-environment",
        "No policy reads the secrets of more than one environment.",
        secrets_stay_in_their_environment,
    ),
    mandatory(
        "pod-identity-trust-is-bound",
        "Pod Identity trust names the cluster, namespace and service account.",
        pod_identity_trust_is_bound,
    ),
    mandatory(
        "environment-quotas-forbid-external-services",
        "Environment quotas allow no LoadBalancer or NodePort Services.",
        environment_quotas_forbid_external_services,
    ),
    mandatory(
        "services-stay-behind-the-alb",
        "No Service of type LoadBalancer or NodePort.",
        services_stay_behind_the_alb,
    ),
    mandatory(
        "ingress-classes-carry-the-waf",
        "Every ALB ingress class has the WAF ACL and one namespace.",
        ingress_classes_carry_the_waf,
    ),
    mandatory(
        "no-unconditioned-writes-on-everything",
        "Write actions on Resource * carry a condition.",
        no_unconditioned_writes_on_everything,
    ),
    mandatory(
        "service-principals-name-their-source",
        "Service principals in trust and resource policies carry aws:SourceArn/Account.",
        service_principals_name_their_source,
    ),
    mandatory(
        "namespaces-carry-pod-security",
        "Every namespace enforces a Pod Security level.",
        namespaces_carry_pod_security,
    ),
    mandatory(
        "helm-releases-create-no-namespace",
        "Helm releases never create their namespace.",
        helm_releases_create_no_namespace,
    ),
    mandatory(
        "efs-policies-allow-mounts",
        "An EFS file-system policy allows ClientMount.",
        efs_policies_allow_mounts,
    ),
    mandatory(
        "data-store-egress-names-subnets",
        "Egress to data-store ports names subnets (/20 or narrower), not the VPC.",
        data_store_egress_names_subnets,
    ),
    mandatory(
        "stateful-resources-are-protected",
        "Databases, file systems, buckets, keys and caches are protected in prod and shared.",
        stateful_resources_are_protected,
    ),
    mandatory(
        "backup-vaults-keep-recovery-points",
        "Backup vault policies deny backup:DeleteRecoveryPoint.",
        backup_vaults_keep_recovery_points,
    ),
    mandatory(
        "no-object-version-deletes",
        "No role may s3:DeleteObjectVersion, except on pr-<N> stacks' own buckets.",
        no_object_version_deletes,
    ),
]
