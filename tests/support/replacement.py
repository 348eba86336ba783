"""What `pulumi up` would do to a resource whose inputs change, from two previews: the
changed input paths against what the provider cannot update (tools/replacements.py) and
the resource's own `replaceOnChanges` option, as tools.diff decides it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pulumi_offline import OfflineRun
from tools.diff import diff


def planned(
    run: OfflineRun,
    name: str,
    change: Callable[[dict[str, Any]], None],
    type_token: str | None = None,
) -> str:
    """`replace`, `update` or `none` for resource `name` (of `type_token`, where several
    share the name) once `change` edits its inputs."""
    resources = [r.as_json() for r in run.resources]
    base: dict[str, Any] = {"project": run.project, "stack": run.stack, "resources": resources}
    current = copy.deepcopy(base)
    (resource,) = [
        r for r in current["resources"] if r["name"] == name and type_token in (None, r["type"])
    ]
    change(resource["inputs"])
    results = [
        c for c in diff(base, current).resources if c.name == name and type_token in (None, c.type)
    ]
    if not results:
        return "none"
    (result,) = results
    return result.kind
