"""The image CDN's URL-signing key: a Pulumi-generated RSA key pair, its public half in a
CloudFront key group (give its id to `ImageCdnArgs.trusted_key_group_ids`), its private
half a secret for the API."""

import pulumi
import pulumi_aws as aws

from components.edge.url_signing import UrlSigningKey

aws_provider = aws.Provider("aws", region="us-east-1")
signing_key = UrlSigningKey(
    "example-signing", opts=pulumi.ResourceOptions(providers=[aws_provider])
)
pulumi.export("keyPairId", signing_key.key_pair_id)
pulumi.export("keyGroupId", signing_key.key_group_id)
pulumi.export("privateKeyPem", signing_key.private_key_pem)  # shown as [secret]
