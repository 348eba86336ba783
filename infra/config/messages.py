"""Validation errors in the words of the person who wrote the stack file.

Pydantic reports a pattern as a regex, a nested section as "instance of QuotaConfig" and
an empty value as `None`; none of that says what to type. Every pattern a model uses is
registered here with what it means (`described`), a model-level check names its key
with `KeyProblem`, and `describe` writes one line per problem: the key, what is wrong,
and the fix where there is one (a dotted key set without `--path`, an environment's key
on the platform).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pydantic import ValidationError

# What each pattern means, for messages (tests/infra/test_config_messages.py checks
# that every pattern in the models is described).
PATTERN_MEANINGS: dict[str, str] = {}


def described(pattern: str, meaning: str) -> str:
    """`pattern`, registered with what it means ("a daily window such as 03:00-04:00")."""
    PATTERN_MEANINGS[pattern] = meaning
    return pattern


class KeyProblem(ValueError):
    """A model-level check's finding about one of the model's keys (camelCase)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def describe(
    error: ValidationError, project: str, foreign: Collection[str], role: str
) -> list[str]:
    """One line per problem. `foreign` are the top-level keys of the other role, which
    this one does not read (`role` names this one)."""
    lines: dict[str, str] = {}  # one per key: a union's last member says the most
    for problem in error.errors():
        location = [
            part for index, part in enumerate(problem["loc"]) if not _union_member(index, part)
        ]
        cause = problem.get("ctx", {}).get("error")
        if isinstance(cause, KeyProblem):
            location.append(cause.key)
        key = key_path(project, location)
        if problem["type"] == "extra_forbidden":
            lines[key] = _unknown(project, location, foreign, role)
        else:
            lines[key] = _what_is_wrong(problem)
    return [f"{key}: {line}" for key, line in lines.items()]


def _union_member(index: int, part: int | str) -> bool:
    """Pydantic's name for a member of a union (`int`, `function-after[...]`), which it
    puts in the location; no nested config key looks like one (a top-level key may be
    anything a user typed, `cluster.publicAccessCidrs[0]` included)."""
    names = ("int", "float", "str", "bool")
    return index > 0 and isinstance(part, str) and (part in names or "[" in part)


def key_path(project: str, location: list[int | str]) -> str:
    path = f"{project}:"
    for index, part in enumerate(location):
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += part if index == 0 else f".{part}"
    return path


def _unknown(project: str, location: list[int | str], foreign: Collection[str], role: str) -> str:
    top = str(location[0])
    if len(location) == 1 and ("." in top or "[" in top):
        # `pulumi config set pingvas:redis.mode x` stores one key named `redis.mode`.
        return (
            f"one key named {top!r}, not the path it looks like: did you forget `--path`? "
            f"(`pulumi config set --path {project}:{top} VALUE`; remove this key with "
            f"`pulumi config rm {project}:{top}`)"
        )
    if len(location) == 1 and top in foreign:
        other = "an environment" if role == "platform" else "a platform"
        return f"a key of {other} stack; a {role} stack does not read it: set it on {other} stack"
    return "unknown configuration key"


def _what_is_wrong(problem: Any) -> str:
    given = problem.get("input")
    kind = problem["type"]
    if kind == "missing":
        return "is required"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if given is None:
            return "is empty: give its keys, or remove it to keep the defaults"
        return f"holds keys beneath it, not {_shown(given)}"
    if kind == "string_pattern_mismatch":
        meaning = PATTERN_MEANINGS.get(problem["ctx"]["pattern"], "in the form this key takes")
        return f"{_shown(given)} is not {meaning}"
    message = str(problem["msg"]).removeprefix("Value error, ")
    if message.startswith("Input is") and given is not None:
        return f"{_shown(given)} {message.removeprefix('Input ')}"
    message = message.replace("Input should be", "should be")
    if given is None:
        return f"{message} (it is empty)"
    if isinstance(given, dict | list) or _shown(given) in message or str(given) in message:
        return message
    return f"{message} (got {_shown(given)})"


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)
