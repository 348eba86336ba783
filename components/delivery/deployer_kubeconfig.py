"""The kubeconfig an environment stack reaches the shared cluster with: a token from
`aws eks get-token`, signed as its deployer (components/delivery/deployers.py)."""

from __future__ import annotations

import pulumi

# The AWS CLI profile a preview's kubeconfig signs with: the review workflow writes it
# (the deployer role, session name `pr-<N>`), since `aws eks get-token --role-arn` names
# every session `EKSGetTokenAuth`.
PREVIEW_AWS_PROFILE = "pingvas-preview-deployer"


def deployer_kubeconfig(
    cluster_name: pulumi.Input[str],
    endpoint: pulumi.Input[str],
    certificate_authority: pulumi.Input[str],
    role_arn: pulumi.Input[str] | None,
    region: str,
) -> pulumi.Output[str]:
    """A kubeconfig whose token comes from `aws eks get-token` as the deployer role:
    whoever runs `pulumi up` acts on the cluster with that role's access, not their own.
    Without `role_arn` (previews), as the session of PREVIEW_AWS_PROFILE."""
    signer = (
        {"args": ["--role-arn", role_arn]}
        if role_arn is not None
        else {"args": [], "env": [{"name": "AWS_PROFILE", "value": PREVIEW_AWS_PROFILE}]}
    )
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
                                *signer["args"],
                                "--region",
                                region,
                            ],
                            **({"env": signer["env"]} if "env" in signer else {}),
                        }
                    },
                }
            ],
        }
    )
