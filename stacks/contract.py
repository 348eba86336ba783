"""What the platform stack exports and environment stacks read: one definition for both
sides, so a renamed output cannot silently break the StackReference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import pulumi
from pydantic.alias_generators import to_camel


@dataclass(frozen=True)
class PlatformOutputs:
    region: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    availability_zones: pulumi.Input[Sequence[pulumi.Input[str]]]
    public_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    # alb, nodes, rds, efs and redis-<environment>
    security_group_ids: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    # Where the ALB's nodes live.
    public_subnet_cidrs: pulumi.Input[Sequence[pulumi.Input[str]]]
    # Where the data stores (Aurora, ElastiCache, EFS mount targets) live: the only
    # destinations of the environments' data-store egress.
    private_subnet_cidrs: pulumi.Input[Sequence[pulumi.Input[str]]]
    # The EKS cluster's name, also the value of the `karpenter.sh/discovery` tags.
    cluster_name: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    # The platform's own (cluster-admin, by the caller's IAM identity) kubeconfig; no
    # credential in it, and environments do not use it.
    kubeconfig: pulumi.Input[str]
    # What environments build their kubeconfig from (components/delivery/deployers.py): the API
    # server, its CA, and each deploy scope's (environment or `pr`) deployer role.
    cluster_endpoint: pulumi.Input[str]
    cluster_certificate_authority: pulumi.Input[str]
    deployer_role_arns: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    # The External Secrets controller's role, which each namespace's store role trusts.
    external_secrets_role_arn: pulumi.Input[str]
    # The edge: hostnames live under `domain`, in the zone `hosted_zone_id`.
    waf_acl_arn: pulumi.Input[str]
    domain: pulumi.Input[str]
    hosted_zone_id: pulumi.Input[str]
    # What pr-<N> stacks share: the ALB IngressClass and ingress group whose wildcard
    # certificate covers <stack>.pr.<domain> (components/edge/preview_ingress.py).
    preview_ingress_class: pulumi.Input[str]
    preview_ingress_group: pulumi.Input[str]
    # The data layer: Aurora (each environment owns a schema in `aurora_database_name`),
    # the model store, the shared buckets and the image registry. The master secret is
    # not exported: long-lived environments get their schema owner's secret (by
    # environment name); ephemeral ones never touch Aurora.
    aurora_writer_endpoint: pulumi.Input[str]
    aurora_reader_endpoint: pulumi.Input[str]
    aurora_port: pulumi.Input[int]
    aurora_database_name: pulumi.Input[str]
    schema_owner_secret_arns: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    model_store_file_system_id: pulumi.Input[str]
    model_store_access_point_id: pulumi.Input[str]
    models_bucket_name: pulumi.Input[str]
    logs_bucket_name: pulumi.Input[str]
    # image (api, worker) → ECR repository URL
    repository_urls: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    # Where CloudWatch alarms, backups and budgets notify people
    # (components.operations.notifications).
    operations_topic_arn: pulumi.Input[str]
    # ElastiCache's events (snapshots, failovers): it cannot publish to the encrypted topic.
    cache_events_topic_arn: pulumi.Input[str]
    # GitHub Actions' deploy roles (pr, dev, prod, images) and the permissions boundary
    # each scope's roles carry (stacks/delivery.py); empty without a repository.
    deploy_role_arns: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    deploy_boundary_arns: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    # The nightly drift check's read-only roles, one per long-lived stack
    # (components/delivery/drift_roles.py); empty without a repository.
    drift_role_arns: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    # The review stacks' Pulumi backends, `s3://<bucket>/pr-<N>` ("" without a repository).
    review_state_bucket: pulumi.Input[str]

    def export(self) -> None:
        for item in fields(self):
            pulumi.export(to_camel(item.name), getattr(self, item.name))

    @classmethod
    def from_stack_reference(cls, reference: pulumi.StackReference) -> PlatformOutputs:
        values: dict[str, Any] = {
            item.name: reference.require_output(to_camel(item.name)) for item in fields(cls)
        }
        return cls(**values)
