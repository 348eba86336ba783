"""A Route 53 zone for a domain and ExternalDNS, which publishes the hostnames of the
`staging` namespace's Ingresses into that zone only."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.edge.dns import Dns, DnsArgs, DnsPublisher

CLUSTER_NAME = "pingvas-example"  # yours; Kubernetes objects use the current context

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")
dns = Dns(
    "example",
    DnsArgs(
        domain="staging.example.com",
        region="us-east-1",
        existing_zone_id=None,  # or your registrar-delegated zone's id
        cluster_name=CLUSTER_NAME,
        # One instance per environment: this one reads the `staging` namespace only.
        publishers=[DnsPublisher("staging", "staging", "staging.example.com")],
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("zoneId", dns.zone_id)
