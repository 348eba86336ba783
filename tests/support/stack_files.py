"""Candidate stack files, judged as `python -m tools.preview STACK --config-file FILE`
judges them: a refusal is exit 2 with one message per key and no traceback; an
acceptance is a config that validates (without running the program, which other tests
do)."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config import StackConfig
from tools.preview import load_stack, main

# Every platform needs its domain; a candidate for `shared` without one gets this.
PLATFORM_DOMAIN = "  pingvas:edge:\n    domain: pingvas.example.com\n"


def candidate(directory: Path, stack: str, content: str) -> Path:
    if stack == "shared" and "pingvas:edge" not in content and content.startswith("config:"):
        content += PLATFORM_DOMAIN
    path = directory / f"Pulumi.{stack}.yaml"
    path.write_text(content)
    return path


def refusal(directory: Path, stack: str, content: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The message a broken stack file gets (asserting it is refused cleanly)."""
    path = candidate(directory, stack, content)
    assert main([stack, "--config-file", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    for internal in ("instance of", "(got None)", "(got 'None')", "String should match"):
        assert internal not in captured.err
    return captured.err


def accepted(directory: Path, stack: str, content: str) -> StackConfig:
    return load_stack(stack, candidate(directory, stack, content))[0]
