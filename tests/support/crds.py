"""Validates custom resources against the upstream CRD schemas vendored in `vendor/crds/`.

The API server validates CRs with the CRD's structural OpenAPI schema; jsonschema's
Draft 4 checks the same schema once it is made strict about unknown fields (the API
server rejects those under strict field validation). CEL rules are not evaluated.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRDS = Path(os.environ.get("PINGVAS_CRDS_DIR", Path(__file__).resolve().parents[2] / "vendor/crds"))


class _CrdLoader(yaml.CSafeLoader):
    """PyYAML reads a bare `=` (in prometheus-operator enums) as a special tag."""


def _plain_scalar(loader: yaml.CSafeLoader, node: yaml.Node) -> Any:
    assert isinstance(node, yaml.ScalarNode), node
    return loader.construct_scalar(node)


_CrdLoader.add_constructor("tag:yaml.org,2002:value", _plain_scalar)


@functools.cache
def _schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → the served version's schema, for every CRD file."""
    if not CRDS.is_dir():
        raise FileNotFoundError(f"CRD schemas not found at {CRDS} (set PINGVAS_CRDS_DIR)")
    schemas = {}
    for path in CRDS.rglob("*.yaml"):
        crd = yaml.load(path.read_text(), Loader=_CrdLoader)  # noqa: S506 (a safe loader)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def _strict(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    for child in (
        *schema.get("properties", {}).values(),
        schema.get("items"),
        schema.get("additionalProperties"),
    ):
        _strict(child)
    if "properties" in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        schema.setdefault("additionalProperties", False)
    if schema.get("x-kubernetes-int-or-string"):
        schema.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable") and "type" in schema:
        schema["type"] = [schema["type"], "null"]
    pattern = schema.get("pattern", "")
    if "(?i)" in pattern[1:]:  # Go accepts inline flags mid-pattern, Python does not
        schema["pattern"] = "(?i)" + pattern.replace("(?i)", "")
    return schema


def crd_errors(resource: dict[str, Any]) -> list[str]:
    """Schema errors of a custom resource ({apiVersion, kind, metadata, spec}); [] if valid."""
    key = (resource["apiVersion"], resource["kind"])
    schema = _schemas().get(key)
    if schema is None:
        return [f"no CRD schema for {key[0]} {key[1]} in {CRDS}"]
    validator = jsonschema.Draft4Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(resource)
    ]
