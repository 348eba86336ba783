"""What `pulumi up` would do to a resource whose inputs change, from two previews: the
changed input paths (tools.diff) against what the provider cannot update (tools.diff's
table) and the resource's own `replaceOnChanges` option, as the engine decides."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pulumi_offline import OfflineRun
from tools.diff import diff


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))


def planned(run: OfflineRun, name: str, change: Callable[[dict[str, Any]], None]) -> str:
    """`replace`, `update` or `none` for resource `name` once `change` edits its inputs."""
    resources = [r.as_json() for r in run.resources]
    base: dict[str, Any] = {"project": run.project, "stack": run.stack, "resources": resources}
    current = copy.deepcopy(base)
    (resource,) = [r for r in current["resources"] if r["name"] == name]
    change(resource["inputs"])
    results = [c for c in diff(base, current).resources if c.name == name]
    if not results:
        return "none"
    (result,) = results
    forcing = resource.get("replaceOnChanges", [])
    if result.kind == "replace" or any(
        _under(c.path, prefix) for c in result.inputs for prefix in forcing
    ):
        return "replace"
    return result.kind
