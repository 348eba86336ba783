"""Runs a program offline and keeps the unmasked inputs of one resource type: how tests
read a secret's value, which the preview (rightly) shows only as "[secret]"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

import pulumi_offline as offline
from pulumi_offline import internals


def unmasked(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(internals.SIG_KEY) == internals.SECRET_SIG:
            return unmasked(value["value"])
        return {key: unmasked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unmasked(item) for item in value]
    return value


def run_capturing(
    monkeypatch: pytest.MonkeyPatch,
    resource_type: str,
    program: Callable[[], None],
    stack: str = "test",
) -> tuple[offline.OfflineRun, list[dict[str, Any]]]:
    """Runs `program`; returns the run and the plain inputs of each `resource_type`."""
    seen: list[dict[str, Any]] = []
    original = offline.OfflineMocks.new_resource

    def capture(
        self: offline.OfflineMocks, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str, dict[str, Any]]:
        if args.typ == resource_type:
            seen.append(unmasked(dict(args.inputs)))
        return original(self, args)

    monkeypatch.setattr(offline.OfflineMocks, "new_resource", capture)
    run = offline.run_offline(
        project="pingvas", stack=stack, config={}, region="us-east-1", program=program
    )
    return run, seen
