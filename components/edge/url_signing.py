"""The image CDN's URL-signing key (issue 13, item 10): CloudFront serves an image only
for a URL the API signed, with the lifetime of the presigned S3 URLs it replaces.

Pulumi generates the RSA key pair (pulumi-tls): the public half becomes a CloudFront
public key in a key group the distribution trusts; the private half stays in Pulumi's
secret state and goes to the API alone, through the environment's Secrets Manager
secret `CLOUDFRONT_PRIVATE_KEY` (components/environment/app_secrets.py). Rotating it is replacing
this component's key (`pulumi up --replace`): the key group then trusts the new key."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

# CloudFront's trusted public keys are RSA 2048 (SHA-1 or SHA-256 signatures).
KEY_BITS = 2048


class UrlSigningKey(pulumi.ComponentResource):
    # The CloudFront public key's id: the `Key-Pair-Id` of every signed URL.
    key_pair_id: pulumi.Output[str]
    key_group_id: pulumi.Output[str]
    public_key_pem: pulumi.Output[str]
    private_key_pem: pulumi.Output[str]  # a Pulumi secret

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pingvas:cdn:UrlSigningKey", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = tls.PrivateKey(name, algorithm="RSA", rsa_bits=KEY_BITS, opts=child)
        public_key = aws.cloudfront.PublicKey(
            name,
            comment=f"{name}: signs image URLs",
            encoded_key=key.public_key_pem,
            opts=child,
        )
        key_group = aws.cloudfront.KeyGroup(
            name,
            name=name,
            comment=f"{name}: the API's image URLs",
            items=[public_key.id],
            opts=child,
        )
        self.key_pair_id = public_key.id
        self.key_group_id = key_group.id
        self.public_key_pem = key.public_key_pem
        self.private_key_pem = pulumi.Output.secret(key.private_key_pem)
        self.register_outputs({"key_pair_id": self.key_pair_id, "key_group_id": self.key_group_id})
