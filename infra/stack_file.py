"""Reads `Pulumi.<stack>.yaml` as strictly as the Pulumi CLI does, and hands it to the
program the way the engine does: `namespace:key` → string, with the project's defaults
from `Pulumi.yaml` underneath.

What the CLI would reject (duplicate keys, recursive or exploding aliases) or what would
silently drop config (a misspelled `config:` root, config keys outside it) is a
`ConfigError` naming the key. Values are read with YAML 1.2's rules, as the CLI reads
them (infra/yaml12.py): `NO` is the string "NO", not false.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

import yaml

import pulumi_offline as offline
from infra import yaml12
from infra.config import PROJECT, ConfigError

# What a stack settings file may hold besides `config` (Pulumi's project-stack schema).
STACK_FILE_KEYS = frozenset(
    {"config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"}
)


def read_stack_file(path: Path) -> tuple[dict[str, str], list[str]]:
    """A `Pulumi.<stack>.yaml` as the engine hands it to programs: `ns:key` → string,
    and the keys whose values are encrypted (`secure:`, at any depth)."""
    document = _load(path)
    section = document.get("config") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path.name}: 'config' must be a mapping of keys to values")
    return as_engine_config(section)


def as_engine_config(section: dict[Any, Any]) -> tuple[dict[str, str], list[str]]:
    raw: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in section.items():
        key = str(key)
        if ":" not in key:
            key = f"{PROJECT}:{key}"  # the CLI reads bare keys as the project's own
        if _has_secure(value):
            # Encrypted with the stack's secrets provider: unknown offline, still secret.
            secret_keys.append(key)
            value = _placeholders(value)
        if isinstance(value, str):
            raw[key] = value
        elif isinstance(value, bool):
            raw[key] = "true" if value else "false"
        elif isinstance(value, dict | list):
            raw[key] = json.dumps(value)
        else:
            raw[key] = str(value)
    return raw, secret_keys


def project_defaults(project_file: Path) -> tuple[dict[str, str], list[str]]:
    """The `config:` declarations of `Pulumi.yaml` as values, as the engine applies them
    under every stack's own (a declaration's `value`, else its `default`)."""
    declarations = (_load(project_file).get("config") or {}) if project_file.exists() else {}
    values = {
        key: (spec.get("value", spec.get("default")) if isinstance(spec, dict) else spec)
        for key, spec in declarations.items()
    }
    return as_engine_config({key: value for key, value in values.items() if value is not None})


def _load(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path.name}: cannot be read ({error})") from None
    root = yaml12.compose(text, path.name)
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path.name}: expected a mapping with a 'config' key")
    reader = yaml12.Reader(path.name)
    document: dict[str, Any] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        if key in document:
            raise ConfigError(
                f"{key}: set twice in {path.name} (line {key_node.start_mark.line + 1}); "
                "a key may appear once"
            )
        if key == "config" and isinstance(value_node, yaml.MappingNode):
            # A stack's config keys, each read as the CLI reads it (infra/yaml12.py).
            document[key] = reader.mapping(value_node, "", raw_scalars=path.name != "Pulumi.yaml")
        else:
            document[key] = reader.value(value_node, key)
    if path.name != "Pulumi.yaml":
        _reject_stray_top_level_keys(path.name, document)
    return document


def _reject_stray_top_level_keys(file_name: str, document: dict[Any, Any]) -> None:
    problems = []
    for key in document:
        if key in STACK_FILE_KEYS:
            continue
        if ":" in str(key):
            problems.append(
                f"{key}: a config key at the top of {file_name}; stack config goes under "
                "'config:' (the CLI would ignore it)"
            )
            continue
        guess = difflib.get_close_matches(str(key), sorted(STACK_FILE_KEYS), n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        problems.append(f"{key}: not a key of a stack file{hint}; config goes under 'config:'")
    if problems:
        raise ConfigError("\n".join(problems))


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_secure(item) for item in value)
    return False


def _placeholders(value: Any) -> Any:
    """Encrypted values replaced by the offline runtime's secret placeholder."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return offline.SECRET
        return {key: _placeholders(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_placeholders(item) for item in value]
    return value
