"""The `config:` section of Pulumi.yaml, generated from the config models, so that
`pulumi config` and editors know every key.

    python -m tools.generate.config_schema          # rewrite Pulumi.yaml's config section
    python -m tools.generate.config_schema --check  # exit 1 if it differs from the models

Pulumi's project config knows only string, integer, boolean and array types, and treats
a declared key without a default as required on every stack, applying the default to
every stack that does not set it. So each key is declared with a default that means
"not set" ("" or {}, which `infra.config` ignores), and the stack's role and profile
still decide the real defaults. Object keys carry no type; their description lists
their sub-keys.
"""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from infra.config import PROJECT, EnvironmentSettings, PlatformSettings

PROJECT_FILE = Path(__file__).resolve().parents[2] / "Pulumi.yaml"
HEADER = """config:
  # Every AWS and Kubernetes resource must name its provider: the tagged one the stacks
  # build. A resource that would fall back to an untagged default provider fails instead.
  pulumi:disable-default-providers:
    value:
      - aws
      - kubernetes
  # Generated from infra/config/ by `python -m tools.generate.config_schema`; do not edit.
  # Empty defaults mean "not set": the stack's profile decides (docs/configuration.md).
"""


def declarations() -> dict[str, dict[str, Any]]:
    """Every `pingvas:*` key of either role, as a Pulumi project config declaration."""
    fields = {**PlatformSettings.model_fields, **EnvironmentSettings.model_fields}
    return {f"{PROJECT}:{field.alias}": _declaration(field) for field in fields.values()}


def _declaration(field: FieldInfo) -> dict[str, Any]:
    annotation = field.annotation
    optional = get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(
        annotation
    )
    if optional:
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    description = field.description or ""
    if get_origin(annotation) is dict:
        return {"description": f"{description} (a map)", "default": {}}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        keys = ", ".join(sub.alias or name for name, sub in annotation.model_fields.items())
        return {"description": f"{description}. Keys: {keys}", "default": {}}
    if annotation is bool:
        return {"type": "boolean", "description": description, "default": field.default}
    if annotation in (str, SecretStr) or (
        isinstance(annotation, type) and issubclass(annotation, str)
    ):
        default = field.default if isinstance(field.default, str) else ""
        return {"type": "string", "description": description, "default": default}
    if annotation is int and not optional:
        return {"type": "integer", "description": description, "default": field.default}
    # An optional number: Pulumi would refuse "" as an integer default.
    return {"description": f"{description} (a number)", "default": ""}


def render() -> str:
    body = yaml.safe_dump(declarations(), sort_keys=False, width=100, allow_unicode=True)
    return HEADER + "".join(f"  {line}\n" for line in body.splitlines())


def with_schema(project_file_text: str) -> str:
    """Pulumi.yaml with its config section (the file's last) replaced."""
    head, separator, _ = project_file_text.partition("\nconfig:\n")
    if not separator:
        raise ValueError("Pulumi.yaml has no top-level config: section")
    return f"{head}\n{render()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate.config_schema", description=__doc__
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if Pulumi.yaml is stale")
    args = parser.parse_args(argv)
    current = PROJECT_FILE.read_text()
    wanted = with_schema(current)
    if args.check:
        if current != wanted:
            print(
                "Pulumi.yaml's config section is stale: run python -m tools.generate.config_schema"
            )
            return 1
        return 0
    PROJECT_FILE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
