"""Previews a component example offline, as `python -m tools.preview` previews a stack:

python -m examples network            # resource tree, counts per type, outputs
python -m examples network --json     # one JSON document
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path

import pulumi_offline as offline
from tools.preview import as_json, as_tree

EXAMPLES_DIR = Path(__file__).resolve().parent
PROJECT = "pingvas-examples"
REGION = "us-east-1"  # every example's provider region


def names() -> list[str]:
    return sorted(path.parent.name for path in EXAMPLES_DIR.glob("*/__main__.py"))


def preview(name: str) -> offline.OfflineRun:
    """Runs examples/<name>/__main__.py under the offline runtime, as Pulumi would run it."""
    path = EXAMPLES_DIR / name / "__main__.py"

    def program() -> None:
        runpy.run_path(str(path), run_name="__main__")

    return offline.run_offline(
        project=PROJECT, stack=name.replace("_", "-"), config={}, region=REGION, program=program
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples", description=__doc__)
    parser.add_argument("example", choices=names())
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    result = preview(args.example)
    print(json.dumps(as_json(result), indent=2) if args.json else as_tree(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
