"""The GPU instance types in order of Spot $ per image, from the cost estimator's own data
(tools/cost: the throughput table, the price table and the usage's images), written to
`infra/gpu_ranking.json`, where the platform's weighted GPU NodePools read it
(infra/gpu_ranking.py). The stacks may not import tools/, so the ranking travels as a
generated file; `--check` (run by the tests) fails when the data moved and it did not.

    python -m tools.generate.gpu_ranking          # rewrite infra/gpu_ranking.json
    python -m tools.generate.gpu_ranking --check  # exit 1 if it differs from the data
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from infra.gpu_ranking import RANKING_FILE
from tools.cost import gpu, prices, usage


def ranking() -> dict[str, Any]:
    """Measured types, cheapest Spot $/1,000 images first (ties: the cheaper hour), and the
    types the table has no figure for."""
    platform = usage.load().platform
    table = prices.load()
    images = sum(workload.per_month for workload in platform.images)
    measured: list[tuple[float, float, str]] = []
    unmeasured: list[str] = []
    for instance_type in sorted(gpu.GPUS):
        work = gpu.work_seconds(instance_type, platform)
        if work is None or images == 0:
            unmeasured.append(instance_type)
            continue
        hour = table.ec2_hour(instance_type, "spot").price
        measured.append((round(hour * work / images / 3.6, 4), hour, instance_type))
    measured.sort()
    return {
        "generatedBy": "python -m tools.generate.gpu_ranking",
        "basis": (
            f"Spot $ per 1,000 images of tools/cost/usage.yaml's images at its "
            f"{platform.gpu_setting} setting, batch {platform.gpu_batch}"
        ),
        "measured": [
            {"instanceType": name, "spotPer1000Images": per_1000} for per_1000, _, name in measured
        ],
        "unmeasured": unmeasured,
    }


def rendered() -> str:
    return json.dumps(ranking(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.generate.gpu_ranking", description=__doc__
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    wanted = rendered()
    if args.check:
        if not RANKING_FILE.exists() or RANKING_FILE.read_text() != wanted:
            print(f"{RANKING_FILE.name} is stale: run python -m tools.generate.gpu_ranking")
            return 1
        return 0
    RANKING_FILE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
