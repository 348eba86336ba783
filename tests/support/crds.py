"""Validates custom resources against the upstream CRD schemas vendored in `vendor/crds/`.

The API server validates CRs with the CRD's structural OpenAPI schema; jsonschema's
Draft 4 checks the same schema once it is made strict about unknown fields (the API
server rejects those under strict field validation, where it would otherwise prune them).
Then the schema's CEL rules (`x-kubernetes-validations`) are evaluated with cel-python at
every node of the object they sit on, `self` bound to that node; transition rules (those
reading `oldSelf`) concern updates and are skipped on what is a create here.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import celpy
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
    errors = [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(resource)
    ]
    return errors or list(_cel_errors(schema, resource, "<root>"))


def _find(text: Any, pattern: Any) -> celpy.celtypes.StringType:
    """Kubernetes' regex library: the first match of `pattern`, or ''."""
    match = re.search(str(pattern), str(text))
    return celpy.celtypes.StringType(match.group(0) if match else "")


def _split(text: Any, separator: Any) -> celpy.celtypes.ListType:
    """CEL's strings extension, which the API server enables."""
    return celpy.celtypes.ListType(
        celpy.celtypes.StringType(part) for part in str(text).split(str(separator))
    )


# The Kubernetes CEL functions the vendored CRDs use beyond standard CEL.
KUBERNETES_FUNCTIONS: dict[str, Any] = {"find": _find, "split": _split}


def _cel_errors(schema: Any, value: Any, path: str) -> Iterator[str]:
    if not isinstance(schema, dict) or value is None:
        return
    for validation in schema.get("x-kubernetes-validations", []):
        rule = validation["rule"]
        if "oldSelf" in rule:
            continue
        environment = celpy.Environment()
        program = environment.program(environment.compile(rule), functions=KUBERNETES_FUNCTIONS)
        outcome: object
        try:
            outcome = program.evaluate({"self": celpy.json_to_cel(value)})
        except celpy.CELEvalError as error:
            outcome = error
        if not (isinstance(outcome, celpy.celtypes.BoolType) and outcome):
            yield f"{path}: {validation.get('message', rule)} (CEL: {rule}; got {outcome!r})"
    if isinstance(value, dict):
        for key, child in value.items():
            child_schema = schema.get("properties", {}).get(key, schema.get("additionalProperties"))
            yield from _cel_errors(child_schema, child, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _cel_errors(schema.get("items"), item, f"{path}/{index}")
