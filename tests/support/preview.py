"""Reads of an offline preview the tests share: a release, a custom resource's body, the
policies of a role."""

from __future__ import annotations

import copy
import json
from typing import Any

from components.environment.app_release import RELEASE_NAME
from pulumi_offline import OfflineRun, RecordedResource

RELEASE = "kubernetes:helm.sh/v3:Release"


def custom_resource(resource: RecordedResource) -> dict[str, Any]:
    inputs = copy.deepcopy(resource.inputs)  # the run is shared between tests
    return {key: inputs[key] for key in ("apiVersion", "kind", "metadata", "spec")}


def release(run: OfflineRun, name: str) -> RecordedResource:
    (found,) = [r for r in run.of_type(RELEASE) if r.inputs.get("name", r.name).endswith(name)]
    return found


def app_release(run: OfflineRun) -> RecordedResource:
    (release,) = [r for r in run.of_type(RELEASE) if r.inputs.get("name") == RELEASE_NAME]
    return release


def policies_of_role(run: OfflineRun, role: RecordedResource) -> list[dict[str, Any]]:
    return [
        json.loads(policy.inputs["policy"])
        for policy in run.of_type("aws:iam/rolePolicy:RolePolicy")
        if policy.inputs["role"] == role.id
    ]


def role_policy(run: OfflineRun, account: str) -> dict[str, Any]:
    (association,) = [
        a
        for a in run.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
        if a.inputs["serviceAccount"] == account
    ]
    role: RecordedResource = next(
        r for r in run.of_type("aws:iam/role:Role") if association.inputs["roleArn"].endswith(r.id)
    )
    (policy,) = [
        p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id
    ]
    assert association.inputs["namespace"] == run.stack
    assert association.inputs["clusterName"] == "pingvas-shared-eks"
    document: dict[str, Any] = json.loads(policy.inputs["policy"])
    return document


def statements_by_actions(document: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    return {
        tuple(sorted(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])): s[
            "Resource"
        ]
        for s in document["Statement"]
    }
