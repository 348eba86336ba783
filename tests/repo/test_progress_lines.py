"""Long set-up steps say what they are doing: a line per phase of `make setup` and of
scripts/lock.sh, before the phase's silent minutes."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def fake_tool(path: Path, log: Path) -> Path:
    """An executable that records its arguments, standing in for pip or pip-compile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def make_lines(*args: str) -> list[str]:
    """What `make ARGS` prints in the repository, line by line (it must succeed)."""
    result = subprocess.run(
        ["make", *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.splitlines()


def test_make_setup_announces_each_phase_around_the_install(tmp_path: Path) -> None:
    venv, calls = tmp_path / "venv", tmp_path / "calls"
    fake_tool(venv / "bin" / "python", calls)  # an existing environment: no venv phase
    fake_tool(venv / "bin" / "pip", calls)
    lines = make_lines("setup", f"VENV={venv}")
    announce = lines.index(
        "setup: installing the infra extra as requirements/infra.txt pins it "
        "(minutes on a first install)"
    )
    install = next(i for i, line in enumerate(lines) if "/bin/pip install" in line)
    assert announce < install < lines.index(f"setup: the infra extra is installed in {venv}")
    assert "-c requirements/infra.txt" in calls.read_text()  # control: pip did run


def test_make_setup_announces_creating_the_environment(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    lines = make_lines("--dry-run", "setup", f"VENV={venv}")
    announce = lines.index(f'echo "setup: creating the virtual environment {venv}"')
    assert lines[announce + 1] == f"python3 -m venv {venv}"


def test_the_lock_script_prints_a_line_per_lock_file(tmp_path: Path) -> None:
    checkout, calls = tmp_path / "checkout", tmp_path / "calls"
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "lock.sh", checkout / "scripts")
    shutil.copy(REPO / "pyproject.toml", checkout)
    shutil.copytree(REPO / "requirements", checkout / "requirements")
    pip_compile = fake_tool(tmp_path / "pip-compile", calls)
    result = subprocess.run(
        ["bash", "scripts/lock.sh"],
        cwd=checkout,
        env={**os.environ, "PIP_COMPILE": str(pip_compile)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stderr.splitlines() == [
        "lock: requirements/dev.txt (every extra; minutes on a fresh pip cache)",
        "lock: requirements/infra.txt (within dev.txt's pins)",
        "lock: requirements/app.txt (within dev.txt's pins)",
        "lock: requirements/worker.txt (within dev.txt's pins)",
        "lock: dropping torch's build tag and the project's own path",
        "lock: done: requirements/*.txt written",
    ]
    # Control: each announced lock file was compiled, in that order.
    outputs = [
        line.split("--output-file ")[1].split()[0] for line in calls.read_text().splitlines()
    ]
    assert outputs == [f"requirements/{extra}.txt" for extra in ("dev", "infra", "app", "worker")]
