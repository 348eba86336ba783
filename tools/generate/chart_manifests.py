"""Renders the app chart into YAML files, with the values each stack's offline preview
gives its Helm release: what security-scan.yaml hands checkov.

    python -m tools.generate.chart_manifests OUT_DIR [STACK ...]     (default: dev prod pr-7)

Writes OUT_DIR/<stack>/<template path>. Needs the `dev` extra (the Helm SDK).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from app.chart_layers import render_chart
from components.environment.app_release import RELEASE_NAME
from tools.preview import preview_stack

HELM_RELEASE = "kubernetes:helm.sh/v3:Release"


def release_values(stack: str) -> dict[str, Any]:
    (release,) = [
        resource
        for resource in preview_stack(stack).of_type(HELM_RELEASE)
        if resource.inputs.get("name") == RELEASE_NAME
    ]
    values: dict[str, Any] = release.inputs["values"]
    return values


def render(stack: str, out_dir: Path) -> int:
    files = render_chart(release_values(stack), RELEASE_NAME, stack)
    written = 0
    for path, text in files.items():
        if path.endswith(".yaml") and text.strip():
            target = out_dir / stack / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate.chart_manifests", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("stacks", nargs="*", default=["dev", "prod", "pr-7"], metavar="STACK")
    args = parser.parse_args(argv)
    for stack in args.stacks:
        print(f"{stack}: {render(stack, args.out_dir)} manifests in {args.out_dir / stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
