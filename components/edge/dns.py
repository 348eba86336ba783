"""The platform's DNS: the Route 53 zone (created, or an existing one) and ExternalDNS,
which publishes the hostnames of the environments' Ingresses into that zone only.

ExternalDNS runs once per environment (issue 22, item 6), not once for the zone: each
instance watches only its environment's namespace (previews: all namespaces, as
`pr-<N>` are many), filters to its environment's subdomain, marks its records with its
own TXT owner, and its role may change only record names under that subdomain. So even
an Ingress host that admission let through (components/cluster/admission.py,
components/edge/preview_ingress.py) is published by no instance, and no environment's
instance can touch another's records. (Instances scoped by domain filters alone would
share one role and one owner, so one bad filter would reach every record.)"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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

RECORD_NAMES = "route53:ChangeResourceRecordSetsNormalizedRecordNames"


@dataclass(frozen=True)
class DnsPublisher:
    """One ExternalDNS instance: what it watches and the names it may publish."""

    key: str  # the environment, or `previews`
    # The one namespace whose Ingresses it reads; None for every namespace (previews).
    namespace: str | None
    domain: str  # its subdomain (the zone's own domain for the apex environment)
    # Subdomains of `domain` that are other environments' (the apex's exclusions).
    excluded: Sequence[str] = ()
    # Route 53 name patterns its role may change (default: `*.<domain>`).
    record_names: Sequence[str] = ()


@dataclass
class DnsArgs:
    domain: str
    # Use this hosted zone instead of creating one (e.g. the registrar's delegated zone).
    existing_zone_id: str | None
    cluster_name: str
    region: str
    publishers: Sequence[DnsPublisher]
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
        for publisher in args.publishers:
            self._external_dns(name, args, publisher, zone_arn)
        self.register_outputs({"zone_id": self.zone_id})

    def _external_dns(
        self, name: str, args: DnsArgs, publisher: DnsPublisher, zone_arn: pulumi.Output[str]
    ) -> None:
        release = f"external-dns-{publisher.key}"
        binding = PodIdentityBinding(
            cluster_name=args.cluster_name,
            region=args.region,
            namespace="kube-system",
            service_account=release,
        )
        change: dict[str, Any] = {
            "ForAllValues:StringLike": {
                RECORD_NAMES: list(publisher.record_names) or [f"*.{publisher.domain}"]
            }
        }
        if publisher.excluded:
            change["ForAllValues:StringNotLike"] = {
                RECORD_NAMES: [f"*.{other}" for other in publisher.excluded]
            }
        role = pod_identity_role(
            f"{name}-{release}",
            binding=binding,
            policy=policy_document(
                [
                    {
                        "Effect": "Allow",
                        "Action": "route53:ChangeResourceRecordSets",
                        "Resource": zone_arn,
                        "Condition": change,
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
            f"{name}-{release}",
            role,
            binding=binding,
            parent=self,
            depends_on=args.depends_on,
        )
        chart = chart_versions.EXTERNAL_DNS
        k8s.helm.v3.Release(
            f"{name}-{release}",
            name=release,
            chart=chart.name,
            version=chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace="kube-system",
            values={
                "provider": {"name": "aws"},
                "sources": ["ingress"],
                "domainFilters": [publisher.domain],
                "excludeDomains": list(publisher.excluded),
                "extraArgs": [
                    pulumi.Output.concat("--zone-id-filter=", self.zone_id),
                    # Names come only from Ingress rules, which admission keeps to each
                    # environment's hosts; the hostname annotation would let any namespace
                    # publish any name in the zone, prod's included.
                    "--ignore-hostname-annotation",
                    *([f"--namespace={publisher.namespace}"] if publisher.namespace else []),
                ],
                # Records are created and deleted with the Ingresses; ownership is
                # marked in TXT records so other writers' records are left alone.
                "policy": "sync",
                "registry": "txt",
                "txtOwnerId": f"{args.cluster_name}-{publisher.key}",
                "serviceAccount": {"create": True, "name": release},
                "nodeSelector": SYSTEM_LABEL,
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[association, *args.depends_on],
            ),
        )
