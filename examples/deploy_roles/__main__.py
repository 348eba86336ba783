"""GitHub Actions deploy roles: the account's OIDC provider and one role per deploy scope
(`pr`, `dev`, `prod`) plus `images`, each trusted only by its workflows' OIDC subjects and
allowed to change only its own stacks' resources."""

import pulumi
import pulumi_aws as aws

from components.delivery.deploy_policies import StackNames
from components.delivery.deploy_roles import DeployRoles, DeployRolesArgs

# Your GitHub repository, account, DNS zone and the ECR repositories CI pushes to.
REPOSITORY = "acme/pingvas"
ACCOUNT_ID = "123456789012"
DOMAIN = "pingvas.example.com"
REPOSITORY_ARNS = [f"arn:aws:ecr:us-east-1:{ACCOUNT_ID}:repository/pingvas-example-api"]

aws_provider = aws.Provider("aws", region="us-east-1")
roles = DeployRoles(
    "example-deploy",
    DeployRolesArgs(
        repository=REPOSITORY,
        account_id=ACCOUNT_ID,
        domain=DOMAIN,
        repository_arns=REPOSITORY_ARNS,
        # Resources are named `pingvas-<stack>-*`; the platform is the `shared` stack.
        names=StackNames(project="pingvas", platform_stack="shared"),
    ),
    opts=pulumi.ResourceOptions(providers=[aws_provider]),
)
pulumi.export("deployRoleArns", roles.role_arns)
