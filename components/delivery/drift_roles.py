"""The read-only identities of the nightly drift check (.github/workflows/drift-check.yaml).

One AWS role per long-lived stack (the platform's, and each deploy scope without a
session tag: `dev`, `prod`), assumable only by drift-check.yaml run from `main` in the
GitHub environment `drift-<stack>` (main-only, docs/delivery.md), so one stack's job
cannot take another's role. The check is `pulumi refresh --preview-only`: it reads each
resource the stack's state holds and compares; it writes no state and runs no program.
So a drift role reads metadata of the services the stacks use and nothing else:

- no create, change, tag or delete anywhere, and no `sts:AssumeRole` (never a deployer);
- no data: objects, secret values, image layers (DATA_READS, denied), log events or
  metric data (no Get granted there);
- its stack's state secrets: `kms:Decrypt` with its own scope's state key alone
  (deploy_roles.state_key_policy), never Encrypt; the platform's stack file names no
  secrets provider, so Pulumi Cloud's, which the job's read-only Pulumi token decrypts;
- in the cluster, read verbs only: the platform's role every object; an environment's
  its own namespace through `view` (no Secrets) and its own Namespace object. An
  environment's kubeconfig signs as an AWS CLI profile the job writes
  (deployer_kubeconfig.py), so the drift job signs it as its drift role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from components.delivery.deploy_policies import DeployScope
from components.delivery.github_oidc import TrustedWorkflow

DRIFT_WORKFLOW = "drift-check.yaml"
# The GitHub environment of one stack's drift job: its Pulumi token and role ARN.
DRIFT_ENVIRONMENT = "drift-{stack}"
# The IAM services behind each pulumi-aws module the stacks use (`aws:<module>/...`);
# tests/infra/test_drift_roles.py fails when a stack uses a module missing here.
MODULE_SERVICES: dict[str, tuple[str, ...]] = {
    "acm": ("acm",),
    "backup": ("backup",),
    "budgets": ("budgets",),
    "cloudfront": ("cloudfront",),
    "cloudtrail": ("cloudtrail",),
    "cloudwatch": ("cloudwatch", "events", "logs"),
    "costexplorer": ("ce",),
    "ec2": ("ec2",),
    "ecr": ("ecr",),
    "efs": ("elasticfilesystem",),
    "eks": ("eks",),
    "elasticache": ("elasticache",),
    "guardduty": ("guardduty",),
    "iam": ("iam",),
    "kms": ("kms",),
    "rds": ("rds",),
    "route53": ("route53",),
    "s3": ("s3",),
    "secretsmanager": ("secretsmanager",),
    "sns": ("sns",),
    "sqs": ("sqs",),
    "vpc": ("ec2",),
    "wafv2": ("wafv2",),
}
# The read verbs of each service (those its API has, from parliament's action database),
# granted as `<service>:<Verb>*`. CloudWatch and logs without Get: there it reads metric
# data, log events and query results, and a refresh of an alarm, rule or log group needs
# only Describe and List; Secrets Manager's only Get besides the value is the policy.
READ_VERBS: dict[str, tuple[str, ...]] = {
    "acm": ("Describe", "Get", "List"),
    "backup": ("Describe", "Get", "List"),
    "budgets": ("Describe", "View"),
    "ce": ("Describe", "Get", "List"),
    "cloudfront": ("Describe", "Get", "List"),
    "cloudtrail": ("Describe", "Get", "List"),
    "cloudwatch": ("Describe", "List"),
    "ec2": ("Describe", "Get", "List"),
    "ecr": ("Describe", "Get", "List"),
    "eks": ("Describe", "List"),
    "elasticache": ("Describe", "List"),
    "elasticfilesystem": ("Describe", "List"),
    "events": ("Describe", "List"),
    "guardduty": ("Describe", "Get", "List"),
    "iam": ("Get", "List"),
    "kms": ("Describe", "Get", "List"),
    "logs": ("Describe", "List"),
    "rds": ("Describe", "List"),
    "route53": ("Get", "List"),
    "s3": ("Get", "List"),
    "secretsmanager": ("Describe", "GetResourcePolicy", "List"),  # not GetSecretValue
    "sns": ("Get", "List"),
    "sqs": ("Get", "List"),
    "wafv2": ("Describe", "Get", "List"),
}
OTHER_READS = ("sts:GetCallerIdentity", "tag:GetResources")
# What a read verb would grant beyond metadata: what the resources hold or say, none of
# which a refresh needs (the check excludes SecretVersions; docs/security.md).
DATA_READS = (
    "s3:GetObject*",
    "secretsmanager:GetSecretValue",
    "ecr:GetAuthorizationToken",  # a registry login, to pull images
    "ecr:GetDownloadUrlForLayer",
    "ec2:GetPasswordData",
    "ec2:GetConsoleOutput",
    "ec2:GetConsoleScreenshot",
    "cloudtrail:GetQueryResults",
    "cloudtrail:GetEventDataStoreData",  # the events of a CloudTrail Lake store
    "guardduty:GetFindings",
    # Requests the WAF sampled (the ACL keeps them), with their headers: cookies, tokens.
    "wafv2:GetSampledRequests",
    "s3:GetDataAccess",  # S3 Access Grants' temporary credentials
    "backup:ListIndexedRecoveryPointsForSearch",
)
# The EKS access policy of the platform's drift role, cluster-wide: every object, Secrets
# included, as Helm keeps each release's record in a Secret of its namespace.
CLUSTER_READ_POLICY = "AmazonEKSAdminViewPolicy"
# An environment's drift role reads its own namespace with Kubernetes' `view` (AWS's copy;
# vendor/eks/aggregate-to-view.yaml): no Secrets. Its Namespace object comes through the
# ClusterRole of namespace_read_rules, bound to its group.
NAMESPACE_READ_POLICY = "AmazonEKSViewPolicy"
DRIFT_GROUP = "pingvas:drift:{stack}"


# What a stack's refresh leaves out (`pulumi refresh --exclude`, URN globs: `**` any text,
# `*` any text without a colon): a SecretVersion's refresh reads the secret's value. In an
# environment, what only a reader of its Secrets could refresh: a Helm release (its record
# is a Secret, found by listing the namespace's Secrets, which RBAC cannot narrow to
# Helm's: a lister reads the payment and OAuth secrets the namespace syncs), and the
# SecretStore, a custom resource `view` does not reach (a ClusterRole for it would reach
# every namespace's store of the same name).
SECRET_VERSIONS = "**aws:secretsmanager/secretVersion:SecretVersion::**"  # noqa: S105 (a glob)
HELM_RELEASES = "**kubernetes:helm.sh/v3:Release::**"
SECRET_STORES = "**kubernetes:external-secrets.io/v1:SecretStore::**"  # noqa: S105 (a glob)


@dataclass(frozen=True)
class DriftScope:
    """One long-lived stack's drift identity."""

    stack: str
    # The deploy scope whose KMS state key holds the stack's secrets; None: Pulumi
    # Cloud's secrets provider (the platform).
    state_key: str | None
    # Reads the whole cluster (the platform); else its own namespace, named like the stack.
    reads_cluster: bool = False

    @property
    def environment(self) -> str:
        return DRIFT_ENVIRONMENT.format(stack=self.stack)

    @property
    def trusted(self) -> tuple[TrustedWorkflow, ...]:
        return (TrustedWorkflow(f"environment:{self.environment}", DRIFT_WORKFLOW),)

    @property
    def group(self) -> str:
        """Its Kubernetes group (the access entry's), which namespace_read_rules bind."""
        return DRIFT_GROUP.format(stack=self.stack)

    @property
    def excluded(self) -> tuple[str, ...]:
        """The URN globs its refresh leaves out."""
        if self.reads_cluster:
            return (SECRET_VERSIONS,)
        return (SECRET_VERSIONS, HELM_RELEASES, SECRET_STORES)


def drift_scopes(platform_stack: str, deploy_scopes: Sequence[DeployScope]) -> list[DriftScope]:
    """The platform's stack and every long-lived environment (a scope of one stack)."""
    return [
        DriftScope(platform_stack, None, reads_cluster=True),
        *(DriftScope(s.key, s.key) for s in deploy_scopes if s.session_tag is None),
    ]


def namespace_read_rules(stack: str) -> list[dict[str, Any]]:
    """An environment's drift ClusterRole: its own Namespace object, by name, read only
    (a namespace-scoped access policy reaches no cluster-scoped object)."""
    return [
        {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": [stack], "verbs": ["get"]}
    ]


def read_actions() -> list[str]:
    return [
        *(f"{service}:{verb}*" for service, verbs in READ_VERBS.items() for verb in verbs),
        *OTHER_READS,
    ]


def drift_policy() -> dict[str, Any]:
    """Metadata of every service the stacks use; no data, no change."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadMetadataForRefresh",
                "Effect": "Allow",
                "Action": read_actions(),
                "Resource": "*",  # a refresh reads every resource of the stack
            },
            {
                "Sid": "NoDataReads",
                "Effect": "Deny",
                "Action": list(DATA_READS),
                "Resource": "*",
            },
        ],
    }
