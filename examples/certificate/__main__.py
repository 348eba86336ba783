"""An ACM certificate for a hostname and its alias, validated by DNS records in a Route
53 zone; the certificate is usable once the validation completes."""

import pulumi
import pulumi_aws as aws

from components.edge.certificate import CertificateArgs, DnsValidatedCertificate

# Your hosted zone's id, for the domain the names live in.
ZONE_ID = "Z0123456789EXAMPLE"

aws_provider = aws.Provider("aws", region="us-east-1")
certificate = DnsValidatedCertificate(
    "example",
    CertificateArgs(
        domain_name="api.staging.example.com",
        zone_id=ZONE_ID,
        alternative_names=["images.staging.example.com"],
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("certificateArn", certificate.arn)
