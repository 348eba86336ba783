"""Helm's merge of values, the one layering rule of the repository: a stack's config over its
profile, a release's values over the chart's defaults, a usage file over the defaults.

Here, in the lowest room, so that the config library, the chart model, the components and
the tools share it; it imports nothing, so the app images carry it at no cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Maps merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
