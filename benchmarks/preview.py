"""Times the offline preview of each stack next to a bare import of the Pulumi SDKs.

    python benchmarks/preview.py [--repeat N]

Each figure is the median wall time of N fresh processes, as a user or CI pays it; the
ratio says how much of a preview is our program rather than loading the SDKs. Most of a
cold preview is the first use of the provider SDKs' modules (pulumi_aws's wafv2 and ec2
input types alone take about a second); a second run in the same process takes ~1 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STACKS = ("shared", "dev", "prod", "pr-7")
BARE_IMPORT = "import pulumi, pulumi_aws, pulumi_eks, pulumi_kubernetes, pulumi_random"


def median_seconds(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    bare = median_seconds([sys.executable, "-c", BARE_IMPORT], args.repeat)
    print(f"bare import of the SDKs:   {bare:6.2f} s")
    for stack in STACKS:
        seconds = median_seconds(
            [sys.executable, "-m", "tools.preview", stack, "--json"], args.repeat
        )
        print(f"offline preview {stack:>7}:  {seconds:6.2f} s  ({seconds / bare:4.1f}x import)")
    # What `make preview` runs: one process, the platform previewed once.
    together = median_seconds([sys.executable, "-m", "tools.preview", *STACKS], args.repeat)
    print(f"all four, one process:     {together:6.2f} s  ({together / bare:4.1f}x import)")


if __name__ == "__main__":
    main()
