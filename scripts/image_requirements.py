"""Print the requirements of the given extras of ``pyproject.toml`` (for the container
images), without the infrastructure's dependencies (Pulumi and its providers).

    python scripts/image_requirements.py app worker > requirements.txt

The project's own base dependencies are kept only where the application imports them;
self-references such as ``pingvas[app]`` are expanded.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

# Base dependencies the application (API and worker) imports; the rest serve infra/.
APP_BASE_DEPENDENCIES = frozenset({"boto3", "pydantic"})
NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
SELF_REFERENCE = re.compile(r"^\s*pingvas\[([a-z0-9_,-]+)\]\s*$")


def requirements(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    optional: dict[str, list[str]] = project["optional-dependencies"]
    found: list[str] = []
    for requirement in project["dependencies"]:
        match = NAME.match(requirement)
        if match and match.group(1).lower() in APP_BASE_DEPENDENCIES:
            found.append(requirement)
    pending = list(extras)
    seen: set[str] = set()
    while pending:
        extra = pending.pop(0)
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"no extra {extra!r} in {pyproject}")
        seen.add(extra)
        for requirement in optional[extra]:
            nested = SELF_REFERENCE.match(requirement)
            if nested:
                pending.extend(nested.group(1).split(","))
            elif requirement not in found:
                found.append(requirement)
    return found


def main() -> None:
    extras = sys.argv[1:] or ["app"]
    root = Path(__file__).resolve().parent.parent
    print("\n".join(requirements(root / "pyproject.toml", extras)))


if __name__ == "__main__":
    main()
