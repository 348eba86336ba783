"""YAML read as the Pulumi CLI reads it: go-yaml v3, which follows YAML 1.2's core schema.

PyYAML follows YAML 1.1, where `NO`, `yes`, `on` and `off` are booleans, `1_000` is an
integer and `2026-01-01` a date; under 1.2 (and for the CLI) they are strings, so a
stack file read with PyYAML's resolvers would hand the program values the engine never
sends. Here PyYAML only parses; every plain scalar is resolved by the 1.2 core schema
(yaml.org/spec/1.2.2/#1023-core-schema).

The document's graph is walked once, with limits: an alias that contains itself is
refused, and so is a document whose aliases expand past `MAX_VALUES` values (the
"billion laughs"; go-yaml v3 refuses "excessive aliasing" the same way), before it
costs seconds and gigabytes. A key set twice, which the CLI refuses, is refused here.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from infra.config import ConfigError

# Values a document may expand to through its aliases; a stack file holds a few hundred.
MAX_VALUES = 10_000
# Nesting deeper than any config needs; past it, a document is refused, not a recursion.
MAX_DEPTH = 64

_STR = "tag:yaml.org,2002:str"
_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False}
_BOOL["FALSE"] = False
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCTAL = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INFINITY = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")


class _Parser(yaml.SafeLoader):
    """PyYAML's safe parser with no implicit resolvers: plain scalars stay text, tagged
    `str`, and are resolved by `core_scalar` instead."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 (PyYAML's class attribute)

    def compose_scalar_node(self, anchor: Any) -> yaml.ScalarNode:
        # Whether the scalar's tag was written (`!!str 7`), which the node does not keep.
        explicit = self.peek_event().tag not in (None, "!")
        node = super().compose_scalar_node(anchor)
        node.explicit_tag = explicit  # type: ignore[attr-defined]
        return node


def compose(text: str, file_name: str) -> yaml.Node | None:
    """The document's node graph (aliases shared, not expanded)."""
    try:
        return yaml.compose(text, Loader=_Parser)
    except RecursionError:
        raise ConfigError(f"{file_name}: nested more deeply than any config needs") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{file_name}: not valid YAML ({error})") from None


def core_scalar(node: yaml.ScalarNode) -> Any:
    """A scalar's value under YAML 1.2's core schema; quoted scalars are strings."""
    text = node.value
    if getattr(node, "explicit_tag", False):
        return text if node.tag == _STR else _tagged(node)
    if node.style is not None:
        return text
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return int(text)
    if _OCTAL.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INFINITY.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


# The core schema's tags, which a scalar may carry explicitly (`!!int 5`).
_CORE_TAGS = {f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float")}


def _tagged(node: yaml.ScalarNode) -> Any:
    """An explicitly tagged scalar, constructed as its tag says; a tag outside the core
    schema (`!!timestamp`, `!!binary`, `!custom`) has no config value."""
    if node.tag not in _CORE_TAGS:
        raise ConfigError(
            f"line {node.start_mark.line + 1}: the tag {node.tag} is not one config values "
            "take (YAML 1.2's core schema: strings, numbers, booleans, null)"
        )
    return yaml.SafeLoader("").construct_object(node, deep=True)


class Reader:
    """Turns one document's nodes into Python values within the limits above."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.values = 0
        self._open: list[yaml.Node] = []  # the nodes being built, to spot a cycle

    def value(self, node: yaml.Node, path: str) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:
            raise ConfigError(
                f"{self.file_name}: its aliases expand to more than {MAX_VALUES} values "
                "(an alias bomb?); the Pulumi CLI refuses such a file: write the values out"
            )
        if any(node is open_node for open_node in self._open):
            raise ConfigError(
                f"{path or self.file_name}: an alias that contains itself "
                f"({self.file_name}, line {node.start_mark.line + 1}); config is finite"
            )
        if len(self._open) >= MAX_DEPTH:
            raise ConfigError(f"{path}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, yaml.ScalarNode):
            return core_scalar(node)
        self._open.append(node)
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
            return self.mapping(node, path)
        finally:
            self._open.pop()

    def mapping(self, node: yaml.Node, path: str, *, raw_scalars: bool = False) -> dict[str, Any]:
        """A mapping's pairs; `<<` merge keys (which go-yaml v3 honours) under its own.
        `raw_scalars` keeps scalar values as typed, as Pulumi reads a config key's value
        (`NO` stays `NO`, `1.10` stays `1.10`, an empty value is "")."""
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(core_scalar(key_node)) if isinstance(key_node, yaml.ScalarNode) else "?"
            if key == "<<" and key_node.style is None:
                sequence = isinstance(value_node, yaml.SequenceNode)
                sources = value_node.value if sequence else [value_node]
                for source in sources:
                    values = self.value(source, path)
                    if not isinstance(values, dict):
                        raise ConfigError(f"{path or '<<'}: `<<` merges a mapping, not {values!r}")
                    merged.update(values)
                continue
            child = f"{path}.{key}" if path else key
            if key in result:
                raise ConfigError(
                    f"{child}: set twice in {self.file_name} (line "
                    f"{key_node.start_mark.line + 1}); a key may appear once"
                )
            if raw_scalars and isinstance(value_node, yaml.ScalarNode):
                self.values += 1
                result[key] = value_node.value
            else:
                result[key] = self.value(value_node, child)
        return {**merged, **result}
