"""Runs the real program offline for named stacks, with their real Pulumi.<stack>.yaml."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import yaml

from pulumi_offline import OfflineRun
from tools.preview import preview_stack, stack_file

_cache: dict[str, OfflineRun] = {}


def run_stack(stack: str) -> OfflineRun:
    """The stack as committed; runs once per test session (results are plain data)."""
    if stack not in _cache:
        _cache[stack] = preview_stack(stack)
    return _cache[stack]


def stack_runner(directory: Path) -> Callable[[str, dict[str, Any]], OfflineRun]:
    """Runs `stack` with its committed config plus `overrides` (`ns:key` → value); the
    changed stack file is written into `directory`."""

    def run(stack: str, overrides: dict[str, Any]) -> OfflineRun:
        path = stack_file(stack)
        committed = yaml.safe_load(path.read_text())["config"] if path.exists() else {}
        config_file = directory / f"Pulumi.{stack}.yaml"
        config_file.write_text(yaml.safe_dump({"config": {**committed, **overrides}}))
        return preview_stack(stack, config_file)

    return run


def explicit_aws() -> pulumi.ResourceOptions:
    """Options that give a component under test its own AWS provider, as the stacks do
    (the default provider is disabled)."""
    return pulumi.ResourceOptions(providers=[aws.Provider("aws", region="us-east-1")])


# The node-based caches dev and prod ran before Serverless became their default (decision
# 0117; the sizes of decision 0100): what a test of the node-based path sets explicitly.
NODE_BASED_REDIS: dict[str, dict[str, Any]] = {
    "dev": {
        "pingvas:redis": {
            "mode": "standalone",
            "engine": "valkey",
            "nodeType": "cache.t4g.small",
            "snapshotRetentionDays": 1,
        }
    },
    "prod": {
        "pingvas:redis": {
            "mode": "replicated",
            "engine": "valkey",
            "nodeType": "cache.t4g.medium",
            "replicas": 1,
            "snapshotRetentionDays": 7,
        }
    },
}
