"""The deploy roles' IAM documents as the preview of `shared` holds them."""

from __future__ import annotations

import json
from typing import Any

from pulumi_offline import OfflineRun

ACCOUNT = "123456789012"  # the offline runtime's account
# The pull request whose session the `pr` role's documents are read for by default.
PR = "7"


class SessionPolicies(list[dict[str, Any]]):
    """A role's policy documents as one of its sessions holds them: with its session tags
    (`aws:PrincipalTag/<key>`), which tests.support.iam.allowed applies to each request."""

    def __init__(self, documents: list[dict[str, Any]], principal_tags: dict[str, str]) -> None:
        super().__init__(documents)
        self.principal_tags = principal_tags

    def plus(self, *more: dict[str, Any]) -> SessionPolicies:
        """The same session, with more documents (e.g. an Allow of everything, to show
        a Deny refuses what some Allow would grant)."""
        return SessionPolicies([*self, *more], self.principal_tags)


def policies(shared: OfflineRun, key: str, pr: str | None = PR) -> SessionPolicies:
    """The role's inline policy and the managed ones attached to it, for a session of
    pull request `pr` (the `pr` role; None: its untagged OIDC session)."""
    inline = shared.one("aws:iam/rolePolicy:RolePolicy", f"pingvas-shared-deploy-{key}")
    managed = [
        policy
        for policy in shared.of_type("aws:iam/policy:Policy")
        if policy.name.startswith(f"pingvas-shared-deploy-{key}-")
        and not policy.name.endswith("-boundary")
    ]
    attachments = [
        a
        for a in shared.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith(f"pingvas-shared-deploy-{key}-")
    ]
    # Four of changes by the stack tag, one of DNS and cluster access.
    assert len(managed) == len(attachments) == (0 if key == "images" else 5)
    tags = {"pr": pr} if key == "pr" and pr is not None else {}
    return SessionPolicies([json.loads(p.inputs["policy"]) for p in [inline, *managed]], tags)


def boundary(shared: OfflineRun, key: str) -> dict[str, Any]:
    policy = shared.one("aws:iam/policy:Policy", f"pingvas-shared-deploy-{key}-boundary")
    return json.loads(policy.inputs["policy"])
