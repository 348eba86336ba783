"""Times the offline preview of the four stacks next to a bare import of the Pulumi SDKs.

    .venv/bin/python benchmarks/preview.py [--repeat N] [--each]

Each figure is the median wall time of N fresh processes, as a user or CI pays it, and
their median CPU time (user + system, the children's included: the figure to compare on
a machine shared with other work, where wall time also counts waiting for a core); the
ratio says how much of a preview is our program rather than loading the SDKs. The
headline is what `make preview` runs: the four stacks in one process (issue 24's target:
≤ 6 s on the project's 2-core machine), the platform first and the environments then in
forked children, one per core. The load average is printed with the figures, since wall
time depends on it. `--each` adds each stack in a process of its own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STACKS = ("shared", "dev", "prod", "pr-7")
BARE_IMPORT = "import pulumi, pulumi_aws, pulumi_eks, pulumi_kubernetes, pulumi_random"


def median_seconds(command: list[str], repeat: int) -> tuple[float, float]:
    """The median wall and CPU seconds of `repeat` runs of `command`."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = os.times()
        started = time.perf_counter()
        subprocess.run(
            command, cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        walls.append(time.perf_counter() - started)
        after = os.times()
        cpus.append(
            after.children_user
            - before.children_user
            + after.children_system
            - before.children_system
        )
    return statistics.median(walls), statistics.median(cpus)


def show(label: str, figures: tuple[float, float], bare: tuple[float, float]) -> None:
    (wall, cpu), (bare_wall, bare_cpu) = figures, bare
    print(
        f"{label:<26} {wall:6.2f} s wall ({wall / bare_wall:5.1f}x import), "
        f"{cpu:6.2f} s CPU ({cpu / bare_cpu:5.1f}x import)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--each", action="store_true", help="also each stack on its own")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    bare = median_seconds([sys.executable, "-c", BARE_IMPORT], args.repeat)
    show("bare import of the SDKs:", bare, bare)
    together = median_seconds([sys.executable, "-m", "tools.preview", *STACKS], args.repeat)
    show("all four, one process:", together, bare)
    if args.each:
        for stack in STACKS:
            command = [sys.executable, "-m", "tools.preview", stack, "--json"]
            show(f"offline preview {stack}:", median_seconds(command, args.repeat), bare)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
