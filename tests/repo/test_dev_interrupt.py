"""`make dev` (scripts/dev.py): Ctrl-C stops it cleanly at any step, exit status 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_ctrl_c_while_building_the_model_exits_130_without_a_traceback(tmp_path: Path) -> None:
    """The first step (building the tiny model into an empty directory) takes seconds: a
    Ctrl-C there used to end in a KeyboardInterrupt traceback."""
    process = subprocess.Popen(
        [sys.executable, "scripts/dev.py", "--models-dir", str(tmp_path / "models")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a group of its own, as a terminal's foreground job
    )
    time.sleep(3)
    assert process.poll() is None, process.communicate()
    os.killpg(process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "Traceback" not in out + err
    assert err.rstrip().endswith("stopped")
