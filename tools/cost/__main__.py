"""Monthly cost of stacks, from their offline preview.

    python -m tools.cost STACK [STACK ...] [--usage FILE] [--json] [--diff BASE.json]

Runs the offline preview of each stack (`tools.preview`, each reported on stderr), prices
every resource with the price table in this package and the usage file (defaults: SPEC
§8's assumptions), and prints one line per charge, subtotals per stack and per service,
and the total; `--json` gives the same as one document. `--diff BASE.json` prices an earlier
`python -m tools.preview STACK --json` (one document or a list) and prints the monthly
change per resource and in total. Invalid stack config or usage, or a BASE of another
project or other stacks, exits with status 2 and a message.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from infra.config import PROJECT, ConfigError
from tools import short_lived
from tools.cost import prices, report, usage
from tools.cost.estimate import Estimate, difference, estimate
from tools.diff import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_STATUSES, check_base, load_base
from tools.preview import as_json, preview_stack, previews


def preview_document(stack: str) -> dict[str, Any]:
    return as_json(preview_stack(stack))


def price_documents(documents: list[Mapping[str, Any]], usage_file: Path | None) -> Estimate:
    return estimate(documents, usage.load(usage_file), prices.load(), preview_document)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.cost",
        description=__doc__,
        epilog=EXIT_STATUSES.split(";", 1)[0] + f"; {EXIT_ERROR} invalid config, usage or BASE",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("stacks", nargs="+", metavar="STACK", help="shared, dev, prod, pr-<N>")
    parser.add_argument("--usage", type=Path, help="a usage file overriding usage.yaml's keys")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--diff", type=Path, metavar="BASE.json", help="an earlier preview --json")
    args = parser.parse_args(argv)
    try:
        base_documents = None if args.diff is None else load_base(args.diff)
        if base_documents is not None:
            check_base(base_documents, PROJECT, args.stacks)
    except (OSError, ValueError) as error:  # JSONDecodeError is a ValueError
        print(f"error: --diff {args.diff}: {error}", file=sys.stderr)
        return EXIT_ERROR
    try:
        with contextlib.closing(previews(args.stacks)) as previewed:
            documents: list[Mapping[str, Any]] = [as_json(result) for result in previewed]
        head = price_documents(documents, args.usage)
        if base_documents is not None:
            base = price_documents(base_documents, args.usage)
    except (ConfigError, usage.UsageError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if base_documents is None:
        print(json.dumps(head.as_json(), indent=2) if args.json else report.as_text(head))
        return 0
    changes = difference(base, head)
    if args.json:
        document = {
            "changes": [change.as_json() for change in changes],
            "before": base.total,
            "after": head.total,
            "delta": round(head.total - base.total, 2),
        }
        print(json.dumps(document, indent=2))
    else:
        print(report.diff_as_text(changes, base, head))
    return 0


if __name__ == "__main__":
    short_lived.run(main)
