"""The isolation rules' cases: for each rule, a resource it must refuse and the fix it
must pass, built from the inputs CrossGuard sends (tests/policy/test_isolation_rules.py)."""

from __future__ import annotations

from collections.abc import Callable

from policy import isolation_rules as isolation
from pulumi_offline import RecordedResource
from tests.support.policy import ROLE, ROLE_POLICY, allow, doc, resource

MASTER = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!cluster-abc"


TRUST_BOUND = {
    "StringEquals": {
        "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-east-1:1:cluster/c",
        "aws:RequestTag/kubernetes-namespace": "dev",
        "aws:RequestTag/kubernetes-service-account": "pingvas-api",
    }
}
POD_TRUST = {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}}

# rule, bad resource, good resource
CASES: list[tuple[Callable[..., None], RecordedResource, RecordedResource]] = [
    (
        isolation.environment_stacks_never_hold_the_master_secret,
        resource(ROLE_POLICY, {"policy": doc(allow("secretsmanager:GetSecretValue", MASTER))}),
        resource(
            ROLE_POLICY,
            {"policy": doc(allow("secretsmanager:GetSecretValue", MASTER))},
            stack="shared",
            parent_types="pingvas:data:SchemaOwners",
        ),
    ),
    (
        isolation.environment_stacks_never_hold_the_master_secret,
        # A wildcard reaches the master secret as surely as its ARN.
        resource(
            ROLE_POLICY,
            {"policy": doc(allow("secretsmanager:*", "arn:aws:secretsmanager:*:*:secret:*"))},
        ),
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws:secretsmanager:*:*:secret:pingvas-dev-*",
                    )
                )
            },
        ),
    ),
    (
        isolation.environment_stacks_never_hold_the_master_secret,
        resource(
            "kubernetes:helm.sh/v3:Release", {"values": {"migrations": {"masterSecretArn": MASTER}}}
        ),
        resource(
            "kubernetes:helm.sh/v3:Release",
            {"values": {"migrations": {"schemaOwnerSecretArn": "arn:x"}}},
        ),
    ),
    (
        isolation.ephemeral_stacks_never_touch_aurora,
        resource(
            "aws:secretsmanager/secret:Secret",
            {"description": "c.cluster-x.us-east-1.rds.amazonaws.com"},
            stack="pr-7",
        ),
        resource(
            "aws:secretsmanager/secret:Secret",
            {"description": "c.cluster-x.us-east-1.rds.amazonaws.com"},
            stack="dev",
        ),
    ),
    (
        isolation.secret_stores_are_namespaced,
        resource("kubernetes:external-secrets.io/v1:ClusterSecretStore", {"spec": {}}),
        resource(
            "kubernetes:external-secrets.io/v1:SecretStore",
            {
                "metadata": {"namespace": "dev"},
                "spec": {"provider": {"aws": {"role": "arn:r", "externalID": "dev"}}},
            },
        ),
    ),
    (
        isolation.secret_stores_are_namespaced,
        resource(
            "kubernetes:external-secrets.io/v1:SecretStore",
            {
                "metadata": {"namespace": "pr-7"},
                "spec": {"provider": {"aws": {"role": "arn:r", "externalID": "prod"}}},
            },
        ),
        resource(
            "kubernetes:external-secrets.io/v1:SecretStore",
            {
                "metadata": {"namespace": "pr-7"},
                "spec": {"provider": {"aws": {"role": "arn:r", "externalID": "pr-7"}}},
            },
        ),
    ),
    (
        isolation.secrets_stay_in_their_environment,
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws:secretsmanager:*:*:secret:pingvas-*",
                    )
                )
            },
        ),
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws:secretsmanager:*:*:secret:pingvas-dev-*",
                    )
                )
            },
        ),
    ),
    (
        isolation.pod_identity_trust_is_bound,
        resource(ROLE, {"assumeRolePolicy": doc({**POD_TRUST, "Action": "sts:AssumeRole"})}),
        resource(
            ROLE,
            {
                "assumeRolePolicy": doc(
                    {**POD_TRUST, "Action": "sts:AssumeRole", "Condition": TRUST_BOUND}
                )
            },
        ),
    ),
    (
        isolation.environment_quotas_forbid_external_services,
        resource("kubernetes:core/v1:ResourceQuota", {"spec": {"hard": {"requests.cpu": "8"}}}),
        resource(
            "kubernetes:core/v1:ResourceQuota",
            {
                "spec": {
                    "hard": {
                        "requests.cpu": "8",
                        "services.loadbalancers": "0",
                        "services.nodeports": "0",
                    }
                }
            },
        ),
    ),
    (
        isolation.services_stay_behind_the_alb,
        resource("kubernetes:core/v1:Service", {"spec": {"type": "LoadBalancer"}}),
        resource("kubernetes:core/v1:Service", {"spec": {"type": "ClusterIP"}}),
    ),
    (
        isolation.ingress_classes_carry_the_waf,
        resource(
            "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams",
            {"spec": {"namespaceSelector": {"matchLabels": {}}}},
        ),
        resource(
            "kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams",
            {"spec": {"namespaceSelector": {"matchLabels": {}}, "wafv2AclArn": "arn:waf"}},
        ),
    ),
    (
        isolation.no_unconditioned_writes_on_everything,
        resource(ROLE_POLICY, {"policy": doc(allow(["elasticloadbalancing:DeleteRule"]))}),
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        ["elasticloadbalancing:DeleteRule"],
                        Condition={"Null": {"aws:ResourceTag/x": "false"}},
                    )
                )
            },
        ),
    ),
    (
        isolation.service_principals_name_their_source,
        resource(
            ROLE,
            {
                "assumeRolePolicy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "backup.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                )
            },
        ),
        resource(
            ROLE,
            {
                "assumeRolePolicy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "backup.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": "1"}},
                    }
                )
            },
        ),
    ),
    (
        isolation.service_principals_name_their_source,
        # The Karpenter interruption queue: EventBridge delivers for named rules only.
        resource(
            "aws:sqs/queuePolicy:QueuePolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": "arn:q",
                    }
                )
            },
        ),
        resource(
            "aws:sqs/queuePolicy:QueuePolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": "arn:q",
                        "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:events:*:1:rule/k-*"}},
                    }
                )
            },
        ),
    ),
    (
        isolation.namespaces_carry_pod_security,
        resource("kubernetes:core/v1:Namespace", {"metadata": {"name": "keda"}}),
        resource(
            "kubernetes:core/v1:Namespace",
            {
                "metadata": {
                    "name": "keda",
                    "labels": {"pod-security.kubernetes.io/enforce": "restricted"},
                }
            },
        ),
    ),
    (
        isolation.helm_releases_create_no_namespace,
        resource("kubernetes:helm.sh/v3:Release", {"createNamespace": True}),
        resource("kubernetes:helm.sh/v3:Release", {"namespace": "keda"}),
    ),
    (
        isolation.efs_policies_allow_mounts,
        resource(
            "aws:efs/fileSystemPolicy:FileSystemPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "*",
                        "Resource": "arn:fs",
                    }
                )
            },
        ),
        resource(
            "aws:efs/fileSystemPolicy:FileSystemPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "elasticfilesystem:ClientMount",
                        "Resource": "arn:fs",
                    }
                )
            },
        ),
    ),
    (
        isolation.data_store_egress_names_subnets,
        resource(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            {
                "spec": {
                    "egress": [
                        {"to": [{"ipBlock": {"cidr": "10.0.0.0/16"}}], "ports": [{"port": 5432}]}
                    ]
                }
            },
        ),
        resource(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            {
                "spec": {
                    "egress": [
                        {"to": [{"ipBlock": {"cidr": "10.0.11.0/24"}}], "ports": [{"port": 5432}]}
                    ]
                }
            },
        ),
    ),
    (
        isolation.stateful_resources_are_protected,
        resource("aws:rds/cluster:Cluster", {}, stack="prod"),
        resource("aws:rds/cluster:Cluster", {}, stack="prod", protect=True),
    ),
    (
        isolation.backup_vaults_keep_recovery_points,
        resource(
            "aws:backup/vaultPolicy:VaultPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": ["backup:StartBackupJob"],
                        "Resource": "*",
                    }
                )
            },
        ),
        resource(
            "aws:backup/vaultPolicy:VaultPolicy",
            {
                "policy": doc(
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": ["backup:DeleteRecoveryPoint"],
                        "Resource": "*",
                    }
                )
            },
        ),
    ),
    (
        isolation.no_object_version_deletes,
        resource(ROLE_POLICY, {"policy": doc(allow("s3:Delete*", "arn:aws:s3:::b/*"))}),
        resource(ROLE_POLICY, {"policy": doc(allow("s3:DeleteObject", "arn:aws:s3:::b/*"))}),
    ),
    (
        # Only a pr-<N> stack's own (force-destroyed) buckets may lose their history.
        isolation.no_object_version_deletes,
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow("s3:DeleteObjectVersion", "arn:aws:s3:::pingvas-prod-images-1/*")
                )
            },
        ),
        resource(
            ROLE_POLICY,
            {"policy": doc(allow("s3:DeleteObjectVersion", "arn:aws:s3:::pingvas-pr-*-*/*"))},
        ),
    ),
    # The stacks build ARNs in their provider's partition: China and GovCloud documents are
    # read as `aws` ones are.
    (
        isolation.secrets_stay_in_their_environment,
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws-cn:secretsmanager:*:*:secret:pingvas-*",
                    )
                )
            },
        ),
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws-cn:secretsmanager:*:*:secret:pingvas-dev-*",
                    )
                )
            },
        ),
    ),
    (
        isolation.environment_stacks_never_hold_the_master_secret,
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws-us-gov:secretsmanager:*:*:secret:*",
                    )
                )
            },
        ),
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow(
                        "secretsmanager:GetSecretValue",
                        "arn:aws-us-gov:secretsmanager:*:*:secret:pingvas-dev-*",
                    )
                )
            },
        ),
    ),
    (
        isolation.no_object_version_deletes,
        resource(
            ROLE_POLICY,
            {
                "policy": doc(
                    allow("s3:DeleteObjectVersion", "arn:aws-cn:s3:::pingvas-prod-images-1/*")
                )
            },
        ),
        resource(
            ROLE_POLICY,
            {"policy": doc(allow("s3:DeleteObjectVersion", "arn:aws-cn:s3:::pingvas-pr-*-*/*"))},
        ),
    ),
    (
        isolation.service_principals_name_their_source,
        # A key may grant data keys to publishing services; nothing more without a source.
        resource(
            "aws:kms/key:Key",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "budgets.amazonaws.com"},
                        "Action": ["kms:Decrypt", "kms:CreateGrant"],
                        "Resource": "*",
                    }
                )
            },
        ),
        resource(
            "aws:kms/key:Key",
            {
                "policy": doc(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "budgets.amazonaws.com"},
                        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                        "Resource": "*",
                    }
                )
            },
        ),
    ),
]
