"""The deploy roles' IAM documents as the preview of `shared` holds them."""

from __future__ import annotations

import json
from typing import Any

from pulumi_offline import OfflineRun

ACCOUNT = "123456789012"  # the offline runtime's account


def policies(shared: OfflineRun, key: str) -> list[dict[str, Any]]:
    """The role's inline policy and the managed ones attached to it."""
    inline = shared.one("aws:iam/rolePolicy:RolePolicy", f"pingvas-shared-deploy-{key}")
    managed = [
        policy
        for policy in shared.of_type("aws:iam/policy:Policy")
        if policy.name.startswith(f"pingvas-shared-deploy-{key}-changes-")
    ]
    attachments = [
        a
        for a in shared.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith(f"pingvas-shared-deploy-{key}-changes-")
    ]
    assert len(managed) == len(attachments) == (0 if key == "images" else 4)
    return [json.loads(p.inputs["policy"]) for p in [inline, *managed]]


def boundary(shared: OfflineRun, key: str) -> dict[str, Any]:
    policy = shared.one("aws:iam/policy:Policy", f"pingvas-shared-deploy-{key}-boundary")
    return json.loads(policy.inputs["policy"])
