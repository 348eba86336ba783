"""ACM certificates validated through Route 53 records that this stack owns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass
class CertificateArgs:
    domain_name: pulumi.Input[str]
    zone_id: pulumi.Input[str]
    alternative_names: Sequence[pulumi.Input[str]] = field(default_factory=list)


class DnsValidatedCertificate(pulumi.ComponentResource):
    """A certificate usable once `arn` resolves: it waits for the DNS validation.

    Pass `opts=ResourceOptions(provider=...)` for a certificate in another region (for
    CloudFront, us-east-1); its validation records live in the global Route 53 zone."""

    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: CertificateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("pingvas:edge:Certificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        certificate = aws.acm.Certificate(
            name,
            domain_name=args.domain_name,
            subject_alternative_names=list(args.alternative_names) or None,
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )
        # One record per name (their number is known up front, so a preview shows them).
        records = []
        for index, domain in enumerate([args.domain_name, *args.alternative_names]):
            option = pulumi.Output.from_input(domain).apply(
                lambda name: _validation_option(certificate, name)
            )
            records.append(
                aws.route53.Record(
                    f"{name}-validation-{index}",
                    zone_id=args.zone_id,
                    name=option.resource_record_name,
                    type=option.resource_record_type,
                    records=[option.resource_record_value],
                    ttl=60,
                    allow_overwrite=True,
                    opts=child,
                )
            )
        validation = aws.acm.CertificateValidation(
            name,
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn for record in records],
            opts=child,
        )
        self.arn = validation.certificate_arn
        self.register_outputs({"arn": self.arn})


def _validation_option(certificate: aws.acm.Certificate, domain: str) -> Any:
    """The validation record AWS asks for `domain` (an Output of it)."""
    return certificate.domain_validation_options.apply(
        lambda options: next(option for option in options if option.domain_name == domain)
    )
