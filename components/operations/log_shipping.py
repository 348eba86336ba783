"""Central logs (SPEC §6.5, §7): a Fluent Bit DaemonSet ships every pod's log lines to
CloudWatch Logs (searchable, kept `retention_days`) and, gzipped, to the logs bucket under
`pods/` (kept by the bucket's lifecycle)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import chart_versions
from components.iam import (
    PodIdentityBinding,
    arn,
    bind_service_account,
    partition,
    pod_identity_role,
    policy_document,
)

# Under this prefix of the logs bucket; the bucket's lifecycle rule uses it too.
POD_LOGS_PREFIX = "pods/"
SERVICE_ACCOUNT = "fluent-bit"


@dataclass
class LogShippingArgs:
    cluster_name: pulumi.Input[str]
    namespace: str
    region: str
    log_group_name: str
    retention_days: int
    logs_bucket_name: pulumi.Input[str]
    # Tolerations that let the DaemonSet onto every node (GPU nodes are tainted).
    tolerations: Sequence[dict[str, str]] = ()
    depends_on: Sequence[pulumi.Resource] = ()


class LogShipping(pulumi.ComponentResource):
    log_group_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: LogShippingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:operations:LogShipping", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = aws.cloudwatch.LogGroup(
            f"{name}-pods",
            name=args.log_group_name,
            retention_in_days=args.retention_days,
            opts=child,
        )
        bucket_arn = arn(partition(self), "s3", args.logs_bucket_name)
        binding = PodIdentityBinding(
            cluster_name=args.cluster_name,
            region=args.region,
            namespace=args.namespace,
            service_account=SERVICE_ACCOUNT,
        )
        role = pod_identity_role(
            f"{name}-fluent-bit",
            binding=binding,
            policy=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogStream",
                            "logs:PutLogEvents",
                            "logs:DescribeLogStreams",
                        ],
                        "Resource": [group.arn, pulumi.Output.concat(group.arn, ":*")],
                    },
                    {
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": pulumi.Output.concat(bucket_arn, "/", POD_LOGS_PREFIX, "*"),
                    },
                ]
            ),
            parent=self,
        )
        association = bind_service_account(
            f"{name}-fluent-bit",
            role,
            binding=binding,
            parent=self,
            depends_on=args.depends_on,
        )
        k8s.helm.v3.Release(
            f"{name}-fluent-bit",
            name="fluent-bit",
            chart=chart_versions.FLUENT_BIT.name,
            version=chart_versions.FLUENT_BIT.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(
                repo=chart_versions.FLUENT_BIT.repository
            ),
            namespace=args.namespace,
            values={
                "kind": "DaemonSet",
                "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT},
                "tolerations": list(args.tolerations),
                "config": {
                    "outputs": fluent_bit_outputs(
                        args.region, args.log_group_name, args.logs_bucket_name
                    ),
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*args.depends_on, association, group],
            ),
        )
        self.log_group_name = group.name
        self.register_outputs({"log_group_name": self.log_group_name})


def fluent_bit_outputs(
    region: str, log_group_name: str, bucket_name: pulumi.Input[str]
) -> pulumi.Output[str]:
    """The chart's `config.outputs`: every pod's lines (tag kube.*) to both destinations."""
    return pulumi.Output.format(
        """[OUTPUT]
    Name cloudwatch_logs
    Match kube.*
    region {0}
    log_group_name {1}
    log_stream_prefix pod-
    auto_create_group Off

[OUTPUT]
    Name s3
    Match kube.*
    region {0}
    bucket {2}
    s3_key_format /{3}%Y/%m/%d/%H/$UUID.gz
    compression gzip
    use_put_object On
    total_file_size 50M
    upload_timeout 10m
""",
        region,
        log_group_name,
        bucket_name,
        POD_LOGS_PREFIX,
    )
