"""The deployers' admission policies as the API server evaluates them, with a CEL
interpreter: match conditions, variables, then each validation."""

from __future__ import annotations

from typing import Any

from components.delivery.deployers import DEPLOYER_GROUP_PREFIX, PREVIEW_USER_PREFIX
from pulumi_offline import OfflineRun
from tests.support.cel import evaluate

POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
# The preview deployer's username by default: a session of pr-7.
PREVIEW_USER = f"{PREVIEW_USER_PREFIX}pr-7"


def spec_of(shared: OfflineRun, name: str) -> dict[str, Any]:
    (found,) = [p for p in shared.of_type(POLICY) if p.inputs["metadata"]["name"] == name]
    spec: dict[str, Any] = found.inputs["spec"]
    return spec


def refusals(
    spec: dict[str, Any],
    *,
    scope: str,
    resource: str,
    operation: str = "CREATE",
    obj: dict[str, Any] | None = None,
    old: dict[str, Any] | None = None,
    namespace: str = "",
    user: str | None = None,
) -> list[str]:
    """The messages of the validations a deployer's request fails (empty: admitted), as
    the API server evaluates the policy: match conditions, variables, validations."""
    default_user = PREVIEW_USER if scope == "pr" else "arn:aws:sts::1:assumed-role/deployer/ci"
    context: dict[str, Any] = {
        "request": {
            "userInfo": {
                "username": user or default_user,
                "groups": [f"{DEPLOYER_GROUP_PREFIX}{scope}", "system:authenticated"],
            },
            "resource": {"resource": resource},
            "operation": operation,
            "namespace": namespace,
        },
        "object": obj,
        "oldObject": old,
    }
    for condition in spec["matchConditions"]:
        assert evaluate(condition["expression"], context)
    variables: dict[str, Any] = {}
    for variable in spec["variables"]:
        variables[variable["name"]] = evaluate(variable["expression"], context, variables)
    return [
        rule["message"]
        for rule in spec["validations"]
        if not bool(evaluate(rule["expression"], context, variables))
    ]
