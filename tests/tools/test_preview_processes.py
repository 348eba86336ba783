"""The preview and cost commands as processes: environments previewed in forked children
(tools/forked.py) give what one process previewing them in turn gives, and Ctrl-C ends
them all with status 130 and a line, not a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tools import diff
from tools.preview import as_json, preview_stack

REPO = Path(__file__).resolve().parents[2]
STACKS = ("shared", "dev", "prod", "pr-7")


def by_urn(document: Mapping[str, Any]) -> dict[str, Any]:
    return {resource["urn"]: resource for resource in document["resources"]}


def test_stacks_previewed_in_parallel_match_a_preview_of_each_in_turn() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.preview", *STACKS, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    parallel = json.loads(result.stdout)
    assert [document["stack"] for document in parallel] == list(STACKS)
    # Reported in the order asked, whichever child finished first.
    assert [line.split()[1] for line in result.stderr.splitlines()] == list(STACKS)
    for document in parallel:
        in_turn = as_json(preview_stack(document["stack"]))  # this process: no fork
        assert by_urn(document) == by_urn(in_turn), document["stack"]
        assert document["outputs"] == in_turn["outputs"], document["stack"]


def start(module: str) -> subprocess.Popen[str]:
    """The command in its own process group, as a terminal runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", module, *STACKS],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for_the_platform(process: subprocess.Popen[str]) -> list[str]:
    """Blocks until the platform is previewed: the environments' children are running."""
    assert process.stderr is not None
    lines = [process.stderr.readline()]
    assert lines[0].startswith("previewed shared"), lines
    assert process.poll() is None  # control: still working when interrupted
    return lines


def group_is_gone(group: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("module", ["tools.preview", "tools.cost"])
def test_ctrl_c_ends_every_process_with_130_and_no_traceback(module: str) -> None:
    process = start(module)
    try:
        lines = wait_for_the_platform(process)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, rest = process.communicate(timeout=60)
    finally:
        process.kill()
    stderr = "".join(lines) + rest
    assert process.returncode == diff.EXIT_INTERRUPTED, stderr
    assert stderr.rstrip().endswith("interrupted"), stderr
    assert "Traceback" not in stderr
    assert group_is_gone(process.pid)


def test_an_interrupted_preview_stops_the_children_it_forked() -> None:
    """SIGINT to the preview alone (a supervisor's, not a terminal's): no child is left."""
    process = start("tools.preview")
    try:
        wait_for_the_platform(process)
        os.kill(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == diff.EXIT_INTERRUPTED, stderr
    assert "Traceback" not in stderr
    assert group_is_gone(process.pid)
