"""The platform's DNS: the Route 53 zone (created, or an existing one) and ExternalDNS,
which publishes the hostnames of the environments' Ingresses into that zone only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import chart_versions
from components.conventions import SYSTEM_LABEL
from components.iam import (
    PodIdentityBinding,
    arn,
    bind_service_account,
    partition,
    pod_identity_role,
    policy_document,
)

EXTERNAL_DNS_SA = "external-dns"


@dataclass
class DnsArgs:
    domain: str
    # Use this hosted zone instead of creating one (e.g. the registrar's delegated zone).
    existing_zone_id: str | None
    cluster_name: str
    region: str
    depends_on: Sequence[pulumi.Resource] = ()


class Dns(pulumi.ComponentResource):
    zone_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: DnsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:edge:Dns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.existing_zone_id is not None:
            self.zone_id = pulumi.Output.from_input(args.existing_zone_id)
        else:
            zone = aws.route53.Zone(
                f"{name}-zone",
                name=args.domain,
                comment="Pingvas: API and image hostnames of every environment",
                opts=child,
            )
            self.zone_id = zone.zone_id
        zone_arn = arn(
            partition(self), "route53", pulumi.Output.concat("hostedzone/", self.zone_id)
        )
        binding = PodIdentityBinding(
            cluster_name=args.cluster_name,
            region=args.region,
            namespace="kube-system",
            service_account=EXTERNAL_DNS_SA,
        )
        role = pod_identity_role(
            f"{name}-external-dns",
            binding=binding,
            policy=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Action": "route53:ChangeResourceRecordSets",
                        "Resource": zone_arn,
                    },
                    {
                        "Effect": "Allow",
                        "Action": [
                            "route53:ListHostedZones",
                            "route53:ListResourceRecordSets",
                            "route53:ListTagsForResources",
                        ],
                        "Resource": "*",
                    },
                ]
            ),
            parent=self,
        )
        association = bind_service_account(
            f"{name}-external-dns",
            role,
            binding=binding,
            parent=self,
            depends_on=args.depends_on,
        )
        chart = chart_versions.EXTERNAL_DNS
        k8s.helm.v3.Release(
            f"{name}-external-dns",
            name="external-dns",
            chart=chart.name,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace="kube-system",
            values={
                "provider": {"name": "aws"},
                "sources": ["ingress"],
                "domainFilters": [args.domain],
                "extraArgs": [
                    pulumi.Output.concat("--zone-id-filter=", self.zone_id),
                    # Names come only from Ingress rules, which admission keeps to each
                    # environment's hosts; the hostname annotation would let any namespace
                    # publish any name in the zone, prod's included.
                    "--ignore-hostname-annotation",
                ],
                # Records are created and deleted with the Ingresses; ownership is
                # marked in TXT records so other writers' records are left alone.
                "policy": "sync",
                "registry": "txt",
                "txtOwnerId": args.cluster_name,
                "serviceAccount": {"create": True, "name": EXTERNAL_DNS_SA},
                "nodeSelector": SYSTEM_LABEL,
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[association, *args.depends_on],
            ),
        )
        self.register_outputs({"zone_id": self.zone_id})
