"""Names the `pr-<N>` stacks past their time to live, for the clean-up job of
review-stack.yaml.

    pulumi stack ls --json | python scripts/expired_review_stacks.py [--now ISO8601]

A review stack lives `ttlHours` (its `ttl-hours` tag; the typed config's default for
`pr-<N>`, or the stack's own file) after its last update. Stacks being updated, and
stacks with no update yet, are left alone. Prints one name a line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's infra/, wherever the venv points

from infra.config import Profile, load_stack_config, profile_by_name  # noqa: E402
from infra.stack_file import read_stack_file  # noqa: E402


def ttl_hours(stack: str) -> int | None:
    path = ROOT / f"Pulumi.{stack}.yaml"
    raw = read_stack_file(path)[0] if path.exists() else {}
    environment = load_stack_config(stack, raw).environment
    return None if environment is None else environment.ttl_hours


def expired(stacks: Iterable[Mapping[str, Any]], now: datetime) -> list[str]:
    names = []
    for stack in stacks:
        name = str(stack.get("name", "")).rsplit("/", 1)[-1]
        last_update = stack.get("lastUpdate")
        review = profile_by_name(name) is Profile.EPHEMERAL
        if not review or stack.get("updateInProgress") or not last_update:
            continue
        hours = ttl_hours(name)
        updated = datetime.fromisoformat(str(last_update).replace("Z", "+00:00"))
        if hours is not None and now - updated > timedelta(hours=hours):
            names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--now", type=datetime.fromisoformat, default=datetime.now(UTC))
    args = parser.parse_args(argv)
    for name in expired(json.load(sys.stdin), args.now):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
