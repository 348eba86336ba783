"""A namespace's own External Secrets SecretStore: an IAM role, assumable by the
controller only with this namespace as external id, that reads the environment's secrets
and not the one its migrations alone use."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.cluster.secret_store import NamespaceSecretStore, SecretStoreArgs

# The platform's External Secrets controller role, and the environment's secrets.
CONTROLLER_ROLE_ARN = "arn:aws:iam::123456789012:role/pingvas-example-external-secrets"
STAGING = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pingvas-staging"

aws_provider = aws.Provider("aws", region="us-east-1")
kubernetes = k8s.Provider("cluster")  # the current kubectl context
store = NamespaceSecretStore(
    "staging-secret-store",  # the controller may assume only *-secret-store-* roles
    SecretStoreArgs(
        namespace="staging",
        region="us-east-1",
        controller_role_arn=CONTROLLER_ROLE_ARN,
        secret_arns=[f"{STAGING}-*"],
        denied_secret_arns=[f"{STAGING}-schema-owner-*"],
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider, kubernetes]),
)
pulumi.export("roleArn", store.role_arn)
