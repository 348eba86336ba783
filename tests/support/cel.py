"""Evaluates the CEL of ValidatingAdmissionPolicies offline (cel-python), with the names the
API server binds: `object`, `namespaceObject`, `variables`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import celpy


def evaluate(
    expression: str, context: Mapping[str, Any], variables: Mapping[str, Any] | None = None
) -> Any:
    """`expression` over `context` (plain JSON values) and `variables` (CEL values, as
    earlier expressions returned them)."""
    environment = celpy.Environment()
    activation: dict[str, Any] = {name: celpy.json_to_cel(value) for name, value in context.items()}
    if variables is not None:
        activation["variables"] = celpy.celtypes.MapType(
            {celpy.celtypes.StringType(key): value for key, value in variables.items()}
        )
    return environment.program(environment.compile(expression)).evaluate(activation)
