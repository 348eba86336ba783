"""The image CDN (SPEC §1, §4): CloudFront in front of an environment's images bucket,
serving `GET /images/*` over HTTPS only, compressed, to URLs signed by a trusted key
group's key (when given), reading the bucket through Origin Access Control. The bucket's
policy (components/data/bucket.py, `ReadGrant`) lets only this distribution read, and only
under the images prefix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

# AWS-managed policies (the same ids in every account).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
ORIGIN_ID = "images-bucket"


@dataclass
class ImageCdnArgs:
    bucket_regional_domain_name: pulumi.Input[str]
    path_pattern: str = "/images/*"
    price_class: str = "PriceClass_100"  # North America and Europe
    aliases: Sequence[pulumi.Input[str]] = field(default_factory=list)
    # An ACM certificate in us-east-1 for the aliases; CloudFront's own name without.
    certificate_arn: pulumi.Input[str] | None = None
    web_acl_arn: pulumi.Input[str] | None = None
    # Key groups whose keys sign the image URLs (components/edge/url_signing.py): with any,
    # the images path answers only signed URLs.
    trusted_key_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)


class ImageCdn(pulumi.ComponentResource):
    distribution_arn: pulumi.Output[str]
    distribution_id: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    hosted_zone_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: ImageCdnArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:cdn:ImageCdn", name, None, opts)
        if args.aliases and args.certificate_arn is None:
            raise ValueError("ImageCdnArgs: aliases need an ACM certificate")
        child = pulumi.ResourceOptions(parent=self)

        access_control = aws.cloudfront.OriginAccessControl(
            name,
            name=name,
            description=f"{name}: signed requests to the images bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        https_get: dict[str, Any] = {
            "target_origin_id": ORIGIN_ID,
            "viewer_protocol_policy": "https-only",
            "allowed_methods": ["GET", "HEAD"],
            "cached_methods": ["GET", "HEAD"],
            "compress": True,
            "cache_policy_id": CACHING_OPTIMIZED,
            "response_headers_policy_id": SECURITY_HEADERS,
        }
        distribution = aws.cloudfront.Distribution(
            name,
            comment=f"{name}: images",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=args.price_class,
            aliases=list(args.aliases) or None,
            web_acl_id=args.web_acl_arn,
            origins=[
                aws.cloudfront.DistributionOriginArgs(
                    origin_id=ORIGIN_ID,
                    domain_name=args.bucket_regional_domain_name,
                    origin_access_control_id=access_control.id,
                )
            ],
            ordered_cache_behaviors=[
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=args.path_pattern,
                    trusted_key_groups=list(args.trusted_key_group_ids) or None,
                    **https_get,
                )
            ],
            # Everything else reaches the bucket too, whose policy answers 403 outside
            # the images prefix.
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(**https_get),
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type="none"
                )
            ),
            viewer_certificate=self._certificate(args),
            opts=child,
        )
        self.distribution_arn = distribution.arn
        self.distribution_id = distribution.id
        self.domain_name = distribution.domain_name
        self.hosted_zone_id = distribution.hosted_zone_id
        self.register_outputs(
            {
                "distribution_arn": self.distribution_arn,
                "distribution_id": self.distribution_id,
                "domain_name": self.domain_name,
            }
        )

    @staticmethod
    def _certificate(args: ImageCdnArgs) -> aws.cloudfront.DistributionViewerCertificateArgs:
        if args.certificate_arn is None:
            return aws.cloudfront.DistributionViewerCertificateArgs(
                cloudfront_default_certificate=True
            )
        return aws.cloudfront.DistributionViewerCertificateArgs(
            acm_certificate_arn=args.certificate_arn,
            ssl_support_method="sni-only",
            minimum_protocol_version="TLSv1.2_2021",
        )
