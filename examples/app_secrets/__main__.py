"""An app's secrets in Secrets Manager: JWT and session keys generated, a payment API
key supplied by an operator (a Pulumi secret), one left for an operator to fill in."""

import pulumi
import pulumi_aws as aws

from components.environment.app_secrets import AppSecrets, AppSecretsArgs

config = pulumi.Config()
aws_provider = aws.Provider("aws", region="us-east-1")
secrets = AppSecrets(
    "example",
    AppSecretsArgs(
        name_prefix="pingvas-example",
        supplied={
            # pulumi config set --secret lemonSqueezyApiKey ...; None leaves it to fill in.
            "LEMONSQUEEZY_API_KEY": config.get_secret("lemonSqueezyApiKey"),
            "GOOGLE_CLIENT_SECRET": None,
        },
        recovery_window_days=7,
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("secretArns", secrets.secret_arns)
