"""Guarantees that only several resources together show: a rule over the whole stack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from components.conventions import ENVIRONMENT_LABEL, POD_IDENTITY_AGENT, SYSTEM_PRIORITY_CLASSES
from components.delivery.deployer_kubeconfig import PREVIEW_AWS_PROFILE, environment_profile
from infra.config import ENVIRONMENT_PROFILES
from policy.documents import as_list, known

# A stack with its own cluster is a platform (shared, or a sandbox that creates one).
CLUSTER_TYPES = ("eks:index:Cluster", "aws:eks/cluster:Cluster")
BUCKET_COMPANIONS = {
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "a public access block",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        "default encryption"
    ),
    "aws:s3/bucketPolicy:BucketPolicy": "a TLS-only bucket policy",
}


def _of_type(args: StackValidationArgs, type_: str) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type == type_]


def _metadata(resource: PolicyResource) -> Mapping[str, Any]:
    return resource.props.get("metadata") or {}


def every_bucket_is_guarded(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    """Every bucket has a public access block, default encryption and a policy (the
    resource rules check what each says)."""
    buckets = _of_type(args, "aws:s3/bucket:Bucket") + _of_type(args, "aws:s3/bucketV2:BucketV2")
    for bucket in buckets:
        for type_, what in BUCKET_COMPANIONS.items():
            if not any(
                bucket.urn in {d.urn for d in c.property_dependencies.get("bucket", [])}
                for c in _of_type(args, type_)
            ):
                report_violation(f"bucket {bucket.name} has no {what}", bucket.urn)


def default_deny_lets_pods_get_credentials(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 8: a namespace whose egress is denied by default still reaches the EKS
    Pod Identity agent, or no pod there gets AWS credentials."""
    policies = _of_type(args, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    denied = {
        _metadata(p).get("namespace")
        for p in policies
        if "Egress" in as_list((p.props.get("spec") or {}).get("policyTypes"))
        and not (p.props.get("spec") or {}).get("egress")
    }
    for namespace in denied:
        if not any(
            _allows_agent(p.props.get("spec") or {})
            for p in policies
            if _metadata(p).get("namespace") == namespace
        ):
            report_violation(f"namespace {namespace} cannot reach the Pod Identity agent", None)


def _allows_agent(spec: Mapping[str, Any]) -> bool:
    cidr, port = POD_IDENTITY_AGENT["cidr"], POD_IDENTITY_AGENT["port"]
    for rule in as_list(spec.get("egress")):
        to = [peer.get("ipBlock", {}).get("cidr") for peer in as_list(rule.get("to"))]
        ports = [p.get("port") for p in as_list(rule.get("ports"))]
        if cidr in to and port in ports:
            return True
    return False


def environments_keep_to_their_priority(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 4: an environment's pods cannot take another environment's (or the
    system's) priority class: a quota of zero pods scoped to every class but its own
    (the classes are the platform's, so the namespace may leave one profile class open)."""
    every = {profile["priorityClass"]["name"] for profile in ENVIRONMENT_PROFILES.values()}
    for namespace in _of_type(args, "kubernetes:core/v1:Namespace"):
        metadata = _metadata(namespace)
        if ENVIRONMENT_LABEL not in (metadata.get("labels") or {}):
            continue
        blocked: set[str] = set()
        for quota in _of_type(args, "kubernetes:core/v1:ResourceQuota"):
            spec = quota.props.get("spec") or {}
            if _metadata(quota).get("namespace") != metadata.get("name"):
                continue
            if str((spec.get("hard") or {}).get("pods")) != "0":
                continue
            for expression in as_list((spec.get("scopeSelector") or {}).get("matchExpressions")):
                if (
                    expression.get("scopeName") == "PriorityClass"
                    and expression.get("operator") == "In"
                ):
                    blocked |= set(as_list(expression.get("values")))
        open_classes = sorted((every | set(SYSTEM_PRIORITY_CLASSES)) - blocked)
        if len(set(open_classes) & every) > 1 or set(open_classes) & set(SYSTEM_PRIORITY_CLASSES):
            report_violation(
                f"namespace {metadata.get('name')} may run pods at {open_classes}", None
            )


def environments_deploy_as_their_deployer(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 4: a stack on someone else's cluster reaches it only as a deployer role
    (`aws eks get-token --role-arn`, or `--profile` of the project's profile for that stack,
    which the deploy jobs write as its deployer: components/delivery/deployer_kubeconfig.py),
    never with the caller's own identity (a platform admin's: cluster-admin) or a static
    credential."""
    if any(_of_type(args, type_) for type_ in CLUSTER_TYPES):
        return
    for provider in _of_type(args, "pulumi:providers:kubernetes"):
        kubeconfig = provider.props.get("kubeconfig")
        if not known(kubeconfig):
            continue
        try:
            config = yaml.safe_load(kubeconfig) if isinstance(kubeconfig, str) else kubeconfig
        except yaml.YAMLError:
            config = None
        users = [entry.get("user") or {} for entry in (config or {}).get("users") or []]
        stack = str(provider.urn).split("::", 1)[0].rsplit(":", 1)[-1]
        assumes = bool(users) and all(
            _signs_as_a_deployer(user.get("exec") or {}, stack) for user in users
        )
        static = [key for user in users for key in user if key != "exec"]
        if not assumes or static:
            report_violation(
                f"kubernetes provider {provider.name} does not assume a deployer role"
                + (f" (it carries {sorted(static)})" if static else ""),
                provider.urn,
            )


def _signs_as_a_deployer(command: dict[str, Any], stack: str) -> bool:
    """`--role-arn` of a deployer, or the profile the deploy jobs write as the stack's
    deployer (a preview's: the deployer with the session name its trust demands). Another
    profile, or `AWS_PROFILE`, which the job's own credentials override, is the caller's."""
    args = as_list(command.get("args"))
    if "--role-arn" in args:
        return True
    profiles = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "--profile"]
    return bool(profiles) and all(
        profile in (PREVIEW_AWS_PROFILE, environment_profile(stack)) for profile in profiles
    )


def backup_vaults_have_a_policy(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """Guarantee 9: every backup vault carries a policy (the rule on VaultPolicy checks
    that it denies early deletion)."""
    named = {
        p.props.get("backupVaultName") for p in _of_type(args, "aws:backup/vaultPolicy:VaultPolicy")
    }
    for vault in _of_type(args, "aws:backup/vault:Vault"):
        if vault.props.get("name") not in named:
            report_violation(f"backup vault {vault.name} has no policy", vault.urn)


# What reads a log group as it is written: none works on the Infrequent Access class
# (https://aws.amazon.com/blogs/aws/new-amazon-cloudwatch-log-class-for-infrequent-access-logs-at-a-reduced-price/,
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch_Logs_Log_Classes.html).
LIVE_READERS = {
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": "a metric filter",
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter": "a subscription filter",
}


def infrequent_access_logs_are_only_kept(
    args: StackValidationArgs, report_violation: ReportViolation
) -> None:
    """A log group in the Infrequent Access class has no metric or subscription filter:
    CloudWatch Logs supports neither there, so the alarm or the copy it feeds would never
    see a line."""
    for group in _of_type(args, "aws:cloudwatch/logGroup:LogGroup"):
        if group.props.get("logGroupClass") != "INFREQUENT_ACCESS":
            continue
        for type_, what in LIVE_READERS.items():
            for reader in _of_type(args, type_):
                named = reader.props.get("logGroupName") == group.props.get("name")
                depends = group.urn in {
                    d.urn for d in reader.property_dependencies.get("logGroupName", [])
                }
                if named or depends:
                    report_violation(
                        f"log group {group.name} is Infrequent Access but {reader.name} is "
                        f"{what} on it",
                        reader.urn,
                    )


def _policy(name: str, description: str, validate: Any) -> StackValidationPolicy:
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


STACK_POLICIES: list[StackValidationPolicy] = [
    _policy(
        "every-bucket-is-guarded",
        "Buckets have an access block, encryption and a policy.",
        every_bucket_is_guarded,
    ),
    _policy(
        "default-deny-lets-pods-get-credentials",
        "Namespaces with default-deny egress allow the Pod Identity agent.",
        default_deny_lets_pods_get_credentials,
    ),
    _policy(
        "environments-keep-to-their-priority",
        "Environment namespaces block other environments' and system priority classes.",
        environments_keep_to_their_priority,
    ),
    _policy(
        "environments-deploy-as-their-deployer",
        "An environment's kubernetes provider assumes its deployer role, not cluster-admin.",
        environments_deploy_as_their_deployer,
    ),
    _policy(
        "infrequent-access-logs-are-only-kept",
        "No metric or subscription filter reads an Infrequent Access log group.",
        infrequent_access_logs_are_only_kept,
    ),
    _policy(
        "backup-vaults-have-a-policy",
        "Every backup vault has a policy.",
        backup_vaults_have_a_policy,
    ),
]
