"""A namespace's own door to Secrets Manager (issue 12, guarantee 2): a namespaced
External Secrets `SecretStore` whose IAM role reads only the secrets it is given.

The External Secrets controller holds no Secrets Manager permission itself: it may only
assume `*-secret-store-*` roles, and each such role trusts the controller only with the
external id of its own namespace. The platform's admission policy (components/cluster/admission.py)
rejects a SecretStore that names another namespace's role or external id, so a pr-<N>
namespace cannot borrow prod's store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.iam import policy_document

# The store the app chart's ExternalSecrets name, in every namespace that has one.
SECRET_STORE = "aws-secrets-manager"  # noqa: S105 (a name, not a secret)
# IAM role names the controller may assume; every store role's name carries it.
STORE_ROLE_MARKER = "secret-store"


@dataclass
class SecretStoreArgs:
    namespace: pulumi.Input[str]
    region: str
    # The External Secrets controller's own role (the platform's output).
    controller_role_arn: pulumi.Input[str]
    # ARNs or ARN patterns of the secrets this namespace may read, and of those among
    # them it may not (credentials only one job uses).
    secret_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    denied_secret_arns: Sequence[pulumi.Input[str]] = ()
    depends_on: Sequence[pulumi.Resource] = ()


class NamespaceSecretStore(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecretStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:secrets:NamespaceSecretStore", name, None, opts)
        if STORE_ROLE_MARKER not in name:
            raise ValueError(f"{name!r}: a store role's name must contain {STORE_ROLE_MARKER!r}")
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            name,
            description=pulumi.Output.concat(
                "External Secrets store of namespace ", args.namespace
            ),
            assume_role_policy=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": args.controller_role_arn},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"sts:ExternalId": args.namespace}},
                    }
                ]
            ),
            opts=child,
        )
        denied = (
            [
                {
                    "Effect": "Deny",
                    "Action": "secretsmanager:*",
                    "Resource": list(args.denied_secret_arns),
                }
            ]
            if args.denied_secret_arns
            else []
        )
        aws.iam.RolePolicy(
            name,
            role=role.id,
            policy=policy_document(
                [
                    *denied,
                    {
                        "Effect": "Allow",
                        "Action": [
                            "secretsmanager:GetSecretValue",
                            "secretsmanager:DescribeSecret",
                        ],
                        "Resource": args.secret_arns,
                    },
                    {
                        # Secrets under a customer key decrypt only through Secrets Manager.
                        "Effect": "Allow",
                        "Action": "kms:Decrypt",
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {
                                "kms:ViaService": f"secretsmanager.{args.region}.amazonaws.com"
                            }
                        },
                    },
                ]
            ),
            opts=child,
        )
        k8s.apiextensions.CustomResource(
            name,
            api_version="external-secrets.io/v1",
            kind="SecretStore",
            metadata={"name": SECRET_STORE, "namespace": args.namespace},
            spec={
                "provider": {
                    "aws": {
                        "service": "SecretsManager",
                        "region": args.region,
                        "role": role.arn,
                        "externalID": args.namespace,
                    }
                }
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.role_arn = role.arn
        self.register_outputs({"role_arn": self.role_arn})
