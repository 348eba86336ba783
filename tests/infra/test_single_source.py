"""Each figure lives in one place: profiles in code hold the defaults, stack files hold
only real departures from them, and the chart's per-environment values files hold only
departures from the chart's defaults and nothing Pulumi sets."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from app import chart_layers
from app.chart_layers import chart_defaults, profile_values
from app.chart_values import ValuesProfile
from components.environment.app_release import RELEASE_NAME
from infra.config import ConfigError, StackConfig, load_stack_config
from infra.merge import deep_merge
from infra.stack_file import as_engine_config
from tests.support.preview import RELEASE
from tools.preview import preview_stack, stack_file

COMMITTED_STACKS = ("shared", "dev", "prod")


def leaf_paths(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from leaf_paths(item, (*path, str(key)))
    else:
        yield path


def without(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    trimmed = copy.deepcopy(document)
    parent = trimmed
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return trimmed


def loads(stack: str, section: dict[str, Any]) -> StackConfig | None:
    """The stack's config, or None where the section is not valid without a key."""
    try:
        return load_stack_config(stack, as_engine_config(section)[0])
    except ConfigError:
        return None


@pytest.mark.parametrize("stack", COMMITTED_STACKS)
def test_stack_files_hold_only_departures_from_the_profile(stack: str) -> None:
    section = yaml.safe_load(stack_file(stack).read_text())["config"]
    config = load_stack_config(stack, as_engine_config(section)[0])
    restated = [
        ".".join(path)
        for path in leaf_paths(section)
        if not path[0].startswith("aws:")  # where a stack runs is stated, not inherited
        and loads(stack, without(section, path)) == config
    ]
    assert restated == [], f"Pulumi.{stack}.yaml restates the profile's figures: {restated}"


def pulumi_set_paths(stack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every values path the stack's release sets, with the values files left out."""
    monkeypatch.setattr(chart_layers, "profile_values", lambda _profile: {})
    committed = stack_file(stack)
    config_file = tmp_path / f"Pulumi.{stack}.yaml"
    config_file.write_text(committed.read_text() if committed.exists() else "config: {}\n")
    run = preview_stack(stack, config_file)
    (release,) = [r for r in run.of_type(RELEASE) if r.inputs.get("name") == RELEASE_NAME]
    return {".".join(path) for path in leaf_paths(release.inputs["values"])}


@pytest.mark.parametrize(
    ("stack", "profile"), [("dev", "dev"), ("prod", "prod"), ("pr-7", "ephemeral")]
)
def test_chart_values_files_hold_nothing_pulumi_sets(
    stack: str, profile: ValuesProfile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_by_pulumi = pulumi_set_paths(stack, tmp_path, monkeypatch)
    assert {"worker.maxReplicas", "api.replicas", "redis.address"} <= set_by_pulumi
    in_file = {".".join(path) for path in leaf_paths(profile_values(profile)) if path}
    overlap = sorted(
        written
        for written in in_file
        for pulumi_path in set_by_pulumi
        if written == pulumi_path or written.startswith(f"{pulumi_path}.")
    )
    assert overlap == [], f"values-{profile}.yaml sets what the stack sets: {overlap}"


@pytest.mark.parametrize("profile", get_args(ValuesProfile))
def test_chart_values_files_hold_only_departures_from_the_defaults(
    profile: ValuesProfile,
) -> None:
    defaults, in_file = chart_defaults(), profile_values(profile)
    layered = deep_merge(defaults, in_file)
    restated = [
        ".".join(path)
        for path in leaf_paths(in_file)
        if path and deep_merge(defaults, without(in_file, path)) == layered
    ]
    assert restated == [], f"values-{profile}.yaml restates values.yaml's defaults: {restated}"
