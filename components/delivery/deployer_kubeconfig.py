"""The kubeconfig an environment stack reaches the shared cluster with: a token from
`aws eks get-token --profile NAME`, signed as whoever that AWS CLI profile is on the
machine running Pulumi. The identity is not in the stack's state: `pulumi up` of dev or
prod writes the profile as the environment's deployer (components/delivery/deployers.py;
scripts/cluster_profile.sh), the review workflow as the preview deployer (session
`pr-<N>`), and the nightly drift check as its read-only drift role
(components/delivery/drift_roles.py), which refreshes with the kubeconfig in the state and
so must not be made to sign as a deployer it may not become.

`--profile`, not `AWS_PROFILE`: the AWS CLI takes credentials from AWS_ACCESS_KEY_ID and
its peers before the profile that AWS_PROFILE names, so in a job whose environment holds
the job's own session the token would sign as that session; a `--profile` argument turns
the environment's credentials off (botocore `credentials.create_credential_resolver`:
"An explicitly provided profile will negate an EnvProvider")."""

from __future__ import annotations

import pulumi

# The profile a preview's kubeconfig signs with: the review workflow writes it (the
# deployer role, session name `pr-<N>`), since `aws eks get-token --role-arn` names every
# session `EKSGetTokenAuth`.
PREVIEW_AWS_PROFILE = "pingvas-preview-deployer"
# The profile a long-lived environment's kubeconfig signs with, one per stack, so that a
# machine holding several signs each stack as its own.
ENVIRONMENT_AWS_PROFILE = "pingvas-{stack}-cluster"


def environment_profile(stack: str) -> str:
    return ENVIRONMENT_AWS_PROFILE.format(stack=stack)


def deployer_kubeconfig(
    cluster_name: pulumi.Input[str],
    endpoint: pulumi.Input[str],
    certificate_authority: pulumi.Input[str],
    profile: pulumi.Input[str],
    region: str,
) -> pulumi.Output[str]:
    """A kubeconfig whose token comes from `aws eks get-token` as the AWS CLI profile
    `profile`: whoever runs `pulumi up` acts on the cluster with that profile's role (the
    deployer's), not with their own identity."""
    return pulumi.Output.json_dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster_name,
                    "cluster": {
                        "server": endpoint,
                        "certificate-authority-data": certificate_authority,
                    },
                }
            ],
            "contexts": [
                {"name": "deployer", "context": {"cluster": cluster_name, "user": "deployer"}}
            ],
            "current-context": "deployer",
            "users": [
                {
                    "name": "deployer",
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--region",
                                region,
                                "--profile",
                                profile,
                            ],
                        }
                    },
                }
            ],
        }
    )
