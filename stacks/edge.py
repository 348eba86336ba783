"""The edge: the WAF ACL, the DNS zone, ExternalDNS and the previews' shared ingress
(platform); each environment's certificates, hostnames and ALB ingress class (pr-<N>
stacks use the shared one)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.cluster.admission import AdmissionArgs, EnvironmentAdmission
from components.cluster.eks import Cluster
from components.edge.certificate import CertificateArgs, DnsValidatedCertificate
from components.edge.dns import Dns, DnsArgs, DnsPublisher
from components.edge.ingress_class import AlbIngressClass, IngressClassArgs
from components.edge.preview_ingress import (
    PreviewIngress,
    PreviewIngressArgs,
    preview_domain,
    preview_hostname,
    preview_record_names,
)
from components.edge.waf import WebAcl, WebAclArgs
from infra.config import APEX_HOST_OWNER, PlatformSettings, Profile, StackConfig
from infra.naming import Naming
from stacks.contract import PlatformOutputs
from stacks.tagging import child_options, tagged_aws_provider

# CloudFront only uses certificates from this region.
CLOUDFRONT_CERTIFICATE_REGION = "us-east-1"
# The hosted zone of every CloudFront distribution, for alias records.
CLOUDFRONT_HOSTED_ZONE_ID = "Z2FDTNDATAQYW2"


@dataclass(frozen=True)
class PlatformEdge:
    waf_acl_arn: pulumi.Output[str]
    domain: str
    hosted_zone_id: pulumi.Output[str]
    # What pr-<N> stacks share (components/edge/preview_ingress.py).
    preview_ingress_class: str
    preview_ingress_group: str


def build_platform_edge(
    config: StackConfig,
    settings: PlatformSettings,
    cluster: Cluster,
    provider: aws.Provider,
    *,
    logs_bucket_name: pulumi.Input[str],
    load_balancer_controller: pulumi.Resource,
) -> PlatformEdge:
    naming = Naming(config.stack)
    waf = settings.edge.waf
    acl = WebAcl(
        naming.name("waf"),
        WebAclArgs(
            rate_limit=waf.rate_limit,
            rate_limit_window_seconds=waf.rate_limit_window_seconds,
            geo_block_countries=waf.geo_block_countries,
            anonymous_ip_list=waf.anonymous_ip_list,
            allow_list_cidrs=[str(cidr) for cidr in waf.allow_list_cidrs],
            priorities={str(rule): priority for rule, priority in waf.priorities.items()},
            count_only=list(waf.count_only),
            log_retention_days=waf.log_retention_days,
        ),
        opts=child_options(provider),
    )
    dns = Dns(
        naming.name("dns"),
        DnsArgs(
            domain=settings.edge.domain,
            existing_zone_id=settings.edge.hosted_zone_id,
            cluster_name=cluster.cluster_name,
            region=config.region,
            publishers=dns_publishers(settings),
            depends_on=[cluster.system_nodes],
        ),
        opts=child_options(provider, cluster.kubernetes_provider),
    )
    EnvironmentAdmission(
        naming.name("admission"),
        AdmissionArgs(domain=settings.edge.domain, apex_namespace=APEX_HOST_OWNER),
        opts=child_options(provider, cluster.kubernetes_provider),
    )
    # What previews (pr-<N>) share: a wildcard certificate and one ingress group.
    preview_class = naming.name("preview")
    PreviewIngress(
        preview_class,
        PreviewIngressArgs(
            domain=settings.edge.domain,
            zone_id=dns.zone_id,
            class_name=preview_class,
            group_name=preview_class,
            waf_acl_arn=acl.arn,
            logs_bucket_name=logs_bucket_name,
            depends_on=[load_balancer_controller],
        ),
        opts=child_options(provider, cluster.kubernetes_provider),
    )
    # Each long-lived environment's ALB class, with its API certificate: the platform's
    # (issue 22, item 6), so no deployer can move a class into another environment's ALB
    # group, open it to another namespace or drop the WAF.
    for env, profile in settings.environments.items():
        env_naming = Naming(env)
        hostname = env_naming.hostname("api", settings.edge.domain, apex=env == APEX_HOST_OWNER)
        certificate = DnsValidatedCertificate(
            naming.name(f"{env}-api-certificate"),
            CertificateArgs(domain_name=hostname, zone_id=dns.zone_id),
            opts=child_options(provider),
        )
        AlbIngressClass(
            naming.name(f"{env}-alb"),
            IngressClassArgs(
                class_name=env_naming.name("alb"),
                group_name=env_naming.prefix,
                namespace_labels={"kubernetes.io/metadata.name": env},
                certificate_arn=certificate.arn,
                waf_acl_arn=acl.arn,
                logs_bucket_name=logs_bucket_name,
                deletion_protection=profile is Profile.PROD,
                # Its IngressClassParams need the controller's CRD (a component's
                # depends_on does not reach its children).
                depends_on=[load_balancer_controller],
            ),
            opts=child_options(provider, cluster.kubernetes_provider),
        )
    return PlatformEdge(
        waf_acl_arn=acl.arn,
        domain=settings.edge.domain,
        hosted_zone_id=dns.zone_id,
        preview_ingress_class=preview_class,
        preview_ingress_group=preview_class,
    )


def dns_publishers(settings: PlatformSettings) -> list[DnsPublisher]:
    """One ExternalDNS per long-lived environment, on its namespace and subdomain (the
    apex environment: the domain less the others'), and one for every preview."""
    domain = settings.edge.domain
    others = [f"{env}.{domain}" for env in settings.environments if env != APEX_HOST_OWNER]
    previews = preview_domain(domain)
    return [
        *(
            DnsPublisher(env, env, domain, excluded=[*others, previews])
            if env == APEX_HOST_OWNER
            else DnsPublisher(env, env, f"{env}.{domain}")
            for env in settings.environments
        ),
        DnsPublisher("previews", None, previews, record_names=preview_record_names(domain)),
    ]


@dataclass
class EnvironmentEdge:
    api_hostname: pulumi.Output[str]
    ingress_class: pulumi.Input[str]
    ingress_group: pulumi.Input[str]
    # The rest is None for pr-<N> stacks, which share the platform's preview edge: its
    # wildcard certificate and ingress group, and no image CDN.
    images_hostname: pulumi.Output[str] | None = None
    # For the image CDN's alias (CloudFront takes certificates from us-east-1 only).
    cdn_certificate_arn: pulumi.Output[str] | None = None

    def export(self) -> None:
        edge = {
            "apiHostname": self.api_hostname,
            "imagesHostname": self.images_hostname,
            "ingressClass": self.ingress_class,
            "ingressGroup": self.ingress_group,
            "cdnCertificateArn": self.cdn_certificate_arn,
        }
        pulumi.export("edge", {key: value for key, value in edge.items() if value is not None})


def build_environment_edge(
    config: StackConfig,
    platform: PlatformOutputs,
    provider: aws.Provider,
) -> EnvironmentEdge:
    naming = Naming(config.stack)
    domain = pulumi.Output.from_input(platform.domain)
    if config.is_ephemeral:
        # Nothing slow per preview: no certificate, no load balancer, no CDN.
        return EnvironmentEdge(
            api_hostname=domain.apply(lambda name: preview_hostname(config.stack, name)),
            ingress_class=platform.preview_ingress_class,
            ingress_group=platform.preview_ingress_group,
        )
    apex = config.kind.apex_hosts
    api_hostname = domain.apply(lambda name: naming.hostname("api", name, apex=apex))
    images_hostname = domain.apply(lambda name: naming.hostname("images", name, apex=apex))
    cloudfront_provider = tagged_aws_provider(
        config, naming.name("aws-cloudfront"), region=CLOUDFRONT_CERTIFICATE_REGION
    )
    cdn_certificate = _certificate(
        naming.name("images-certificate"), images_hostname, platform, cloudfront_provider
    )
    # The ALB class and its certificate are the platform's (build_platform_edge).
    return EnvironmentEdge(
        api_hostname=api_hostname,
        images_hostname=images_hostname,
        ingress_class=naming.name("alb"),
        ingress_group=naming.prefix,
        cdn_certificate_arn=cdn_certificate.arn,
    )


def publish_images_alias(
    config: StackConfig,
    platform: PlatformOutputs,
    edge: EnvironmentEdge,
    cdn_domain_name: pulumi.Input[str] | None,
    provider: aws.Provider,
) -> None:
    """images.<env>.<domain> → the environment's CloudFront distribution (IPv4 and IPv6),
    if it has one."""
    if cdn_domain_name is None or edge.images_hostname is None:
        return
    for record_type in ("A", "AAAA"):
        aws.route53.Record(
            Naming(config.stack).name(f"images-{record_type.lower()}"),
            zone_id=platform.hosted_zone_id,
            name=edge.images_hostname,
            type=record_type,
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=cdn_domain_name,
                    zone_id=CLOUDFRONT_HOSTED_ZONE_ID,
                    evaluate_target_health=False,
                )
            ],
            opts=pulumi.ResourceOptions(provider=provider),
        )


def _certificate(
    name: str,
    hostname: pulumi.Output[str],
    platform: PlatformOutputs,
    provider: aws.Provider,
) -> DnsValidatedCertificate:
    return DnsValidatedCertificate(
        name,
        CertificateArgs(domain_name=hostname, zone_id=platform.hosted_zone_id),
        opts=child_options(provider),
    )
